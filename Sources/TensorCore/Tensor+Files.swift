import FoundationEssentials
import Glibc
import Portable

// Reading and writing tensors as files: NumPy `.npy` and comma-separated numbers.
//
// `.npy` (format versions 1.0, 2.0 and 3.0) is read with the dtypes
// `f8 f4 i8 i4 i2 i1 u8 u4 u2 u1 b1` in either byte order, in C or Fortran order, of any rank
// (0-d and zero-size included); every element becomes a float64 (integers beyond 2^53 round, as
// NumPy's `astype(float64)` does). Tensors are written as `<f8`, C order, format 1.0 (2.0 only
// when the header would not fit), which `numpy.load` reads back bit for bit.
//
// CSV: lines of numbers separated by commas, with optional spaces or tabs around them.
// `nan`, `inf`, `-inf` (any case, also `infinity`) are numbers. Blank lines and lines starting
// with `#` are skipped. A first line of names (`x, y`: no field a number, each one that is not
// empty starting with a letter, `_` or a quote) is a header and is skipped; NumPy's `loadtxt`
// would need `skiprows=1` for it. Every other line must be all numbers, as many on each line, and
// there must be at least one such line: anything else is an error naming the file, the line and
// the field. Shapes are those of `np.loadtxt(path, delimiter=",")` (its default `ndmin=0`): a
// single row or a single column is a vector `[n]`, a single number a scalar, else `[rows, columns]`.
// Tensors are written as CSV when the path ends in `.csv`: ranks 0 to 2, a vector as one column
// (as `np.savetxt` writes it), each number in the shortest form that reads back to it.

extension Tensor {
    /// Reads a tensor from a NumPy `.npy` file or a CSV file of numbers.
    ///
    /// The kind is told by the file's contents (the `.npy` magic string) and else by its
    /// extension (`.csv`, `.txt`). Errors name the file as `path` was given.
    public static func load(path: String) throws -> Tensor {
        // One open serves the checks and the reading. O_NONBLOCK: opening a pipe with no writer must not wait
        // (it changes nothing for reading a regular file, the only kind read).
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw TensorError(FileMessages.cannotRead(path, reason: FileMessages.reason(errno: errno))) }
        defer { close(fd) }
        let fileSize = try checkReadable(fd, path)
        if let tensor = NPY.readFloat64(fd, fileSize: fileSize, path: path) {
            BLAS.openInBackground(forMatrixOf: tensor.shape)
            return tensor
        }
        let data: [UInt8]
        switch FileText.readBytes(fd: fd) {
        case .success(let bytes): data = bytes
        case .failure(let error): throw TensorError(FileMessages.cannotRead(path, reason: FileMessages.reason(errno: error.code)))
        }
        return try load(bytes: data, name: path)
    }

    /// Reads a tensor from a file's bytes (`name` tells the kind by its extension when the bytes do not).
    public static func load(bytes data: [UInt8], name path: String) throws -> Tensor {
        let tensor: Tensor
        if data.starts(with: NPY.magic) {
            tensor = try NPY.decode(data, name: path)
        } else {
            let ext = PathText.pathExtension(path).lowercased()
            switch ext {
            case "npy":
                throw TensorError("\(path): not a NumPy .npy file (it does not start with \\x93NUMPY)")
            case "csv", "txt":
                tensor = try CSV.decode(data, name: path)
            default:
                throw TensorError("\(path): unknown file type '.\(ext)' (expected .npy or .csv)")
            }
        }
        BLAS.openInBackground(forMatrixOf: tensor.shape)
        return tensor
    }

    /// Refuses what is not a regular file (`/dev/zero` would be read forever, a pipe could block) and a
    /// file whose bytes alone would pass the memory limit, before anything is read; the file's size.
    static func checkReadable(_ fd: Int32, _ path: String) throws -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw TensorError(FileMessages.cannotRead(path, reason: FileMessages.reason(errno: errno))) }
        if info.st_mode & S_IFMT == S_IFDIR { throw TensorError(FileMessages.cannotRead(path, reason: FileMessages.reason(errno: EISDIR))) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw TensorError(FileMessages.notRegular(path)) }
        do {
            try Memory.checkLive(adding: Int(info.st_size) / 8)
        } catch let error as TensorError {
            throw TensorError("\(path): \(Memory.describeBytes(Int(info.st_size))) file: \(error.message)")
        }
        return Int(info.st_size)
    }

    /// Writes the tensor as CSV text when `path` ends in `.csv` (any case), else as a NumPy `.npy` file.
    public func save(path: String) throws {
        if PathText.pathExtension(path).lowercased() == "csv" {
            try saveCSV(path: path)
        } else {
            try saveNPY(path: path)
        }
    }

    /// The bytes `save(path:)` writes: CSV text when `path` ends in `.csv` (any case), else `.npy`.
    public func fileBytes(path: String) throws -> [UInt8] {
        guard PathText.pathExtension(path).lowercased() == "csv" else { return [UInt8](NPY.encode(self)) }
        guard rank <= 2 else { throw TensorError(FileMessages.csvRank(path, shape: shape)) }
        guard count > 0 else { throw TensorError(FileMessages.csvEmpty(path, shape: shape)) }
        return Array(CSV.encode(self).utf8)
    }

    /// Writes the tensor as a NumPy `.npy` file: dtype `<f8`, C order, format version 1.0.
    ///
    /// The file is replaced atomically. `numpy.load` gives back exactly these float64 values.
    public func saveNPY(path: String) throws {
        try Tensor.write(NPY.encode(self), to: path)
    }

    /// Writes the tensor as comma-separated numbers: a scalar as one number, a vector as one column
    /// (as `np.savetxt` does), a matrix as one line per row; ranks above 2, and tensors with no
    /// elements, which CSV cannot hold, are errors.
    ///
    /// Numbers have the shortest digits that read back to the same float64 (`0.1`, `1e-300`, `nan`,
    /// `-inf`; integral values without `.0`), so `load` and `np.loadtxt(path, delimiter=",")` give back
    /// exactly these values, with the shape `load` gives a CSV: a 1×n or n×1 matrix comes back as a
    /// vector, a one-element tensor as a scalar. The file is replaced atomically.
    public func saveCSV(path: String) throws {
        guard rank <= 2 else { throw TensorError(FileMessages.csvRank(path, shape: shape)) }
        guard count > 0 else { throw TensorError(FileMessages.csvEmpty(path, shape: shape)) }
        try Tensor.write(Data(CSV.encode(self).utf8), to: path)
    }

    /// Writes through a symbolic link, and into a device or a pipe in place (see `FileText.replace`).
    private static func write(_ bytes: Data, to path: String) throws {
        let code = FileText.replace(path, with: [UInt8](bytes))
        if code != 0 { throw TensorError(FileMessages.cannotWrite(path, reason: FileMessages.reason(errno: code))) }
    }
}

/// Message texts for file errors.
enum FileMessages {
    static func cannotRead(_ path: String, reason: String) -> String { "\(path): cannot read: \(reason)" }
    static func cannotWrite(_ path: String, reason: String) -> String { "\(path): cannot write: \(reason)" }
    static func notRegular(_ path: String) -> String { "\(path): cannot read: not a regular file (a device, a pipe or a socket)" }
    static func headerTooLarge(_ length: Int) -> String {
        "the .npy header is \(length) bytes, more than NumPy reads (\(NPY.maximumHeaderSize); numpy.load's max_header_size)"
    }
    static func csvRank(_ path: String, shape: [Int]) -> String {
        "\(path): a CSV file holds a scalar, a vector or a matrix, not a tensor of shape \(Shape.describe(shape)) (save it as .npy)"
    }
    static func csvEmpty(_ path: String, shape: [Int]) -> String {
        "\(path): a CSV file cannot hold a tensor of shape \(Shape.describe(shape)), which has no elements (save it as .npy)"
    }
    static func csvNoRows(_ path: String) -> String { "\(path): no rows of numbers" }
    static func csvNotANumber(_ path: String, line: Int, column: Int, field: String) -> String {
        "\(path) line \(line), column \(column): '\(field)' is not a number"
    }
    static func csvOtherSeparator(_ path: String, line: Int, column: Int, field: String) -> String {
        csvNotANumber(path, line: line, column: column, field: field) + " (numbers are separated by commas)"
    }
    static func csvEmptyField(_ path: String, line: Int, column: Int) -> String {
        "\(path) line \(line), column \(column): an empty field"
    }
    static func csvRowLength(_ path: String, line: Int, found: Int, expected: Int, firstLine: Int) -> String {
        "\(path) line \(line): expected \(expected) numbers (as on line \(firstLine)), found \(found)"
    }

    /// A short reason for a failed system call.
    static func reason(errno code: Int32) -> String {
        switch code {
        case ENOENT: return "no such file"
        case EACCES, EPERM: return "permission denied"
        case EISDIR: return "is a directory"
        default: return String(cString: strerror(code))
        }
    }
}

// MARK: - .npy

enum NPY {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"
    /// The longest header read, as `numpy.load` bounds it (`max_header_size`, NumPy 1.24 and later).
    static let maximumHeaderSize = 10000

    /// The element types we read, with their size in bytes.
    enum Kind { case float, signed, unsigned, bool }

    struct DType {
        var kind: Kind
        var size: Int
        var bigEndian: Bool
    }

    // MARK: Reading

    /// What a `.npy` header says, and where the data starts.
    struct Header {
        var descr: String
        var dtype: DType
        var fortranOrder: Bool
        var shape: [Int]
        var dataStart: Int
        var count: Int { Shape.count(shape) }
    }

    /// Reads the header at the start of `raw` (the magic string already checked).
    static func header(_ raw: UnsafeRawBufferPointer, name: String) throws -> Header {
        func fail(_ problem: String) -> TensorError { TensorError("\(name): \(problem)") }
        guard raw.count >= 10 else { throw fail("truncated .npy header") }
        let major = raw[6], minor = raw[7]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(raw[8]) | Int(raw[9]) << 8
            headerStart = 10
        case 2, 3:
            guard raw.count >= 12 else { throw fail("truncated .npy header") }
            headerLength = Int(raw[8]) | Int(raw[9]) << 8 | Int(raw[10]) << 16 | Int(raw[11]) << 24
            headerStart = 12
        default:
            throw fail("unsupported .npy format version \(major).\(minor)")
        }
        guard headerLength <= maximumHeaderSize else { throw fail(FileMessages.headerTooLarge(headerLength)) }
        guard raw.count >= headerStart + headerLength else { throw fail("truncated .npy header") }
        let headerBytes = UnsafeRawBufferPointer(rebasing: raw[headerStart..<headerStart + headerLength])
        let descr: String, fortranOrder: Bool, shape: [Int]
        if let plain = plainHeader(headerBytes) {
            (descr, fortranOrder, shape) = plain
        } else {
            (descr, fortranOrder, shape) = try generalHeader(headerBytes, version: major, fail: fail)
        }
        guard let dtype = parseDType(descr) else { throw fail("unsupported dtype '\(descr)'") }
        do {
            try Shape.checkAllocation(shape)
            try Memory.checkLive(adding: Shape.count(shape))
        } catch let error as TensorError {
            throw fail(error.message)
        }
        return Header(descr: descr, dtype: dtype, fortranOrder: fortranOrder, shape: shape, dataStart: headerStart + headerLength)
    }

    /// The header's three keys read by the Python-literal parser: any header, with its errors.
    static func generalHeader(_ headerBytes: UnsafeRawBufferPointer, version major: UInt8,
                                      fail: (String) -> TensorError) throws -> (String, Bool, [Int]) {
        // Versions 1 and 2 are latin-1, version 3 UTF-8; the keys and values we read are ASCII either way.
        let header = major == 3
            ? String(decoding: headerBytes, as: UTF8.self)
            : String(headerBytes.map { Character(Unicode.Scalar($0)) })

        let dict: [String: PyValue]
        do {
            var parser = PyLiteralParser(header)
            guard case .dict(let d) = try parser.parseTop() else { throw fail("the .npy header is not a dictionary") }
            dict = d
        } catch let error as PyLiteralParser.Failure {
            let shown = header.trimmingWhitespaceAndNewlines()
            throw fail("malformed .npy header (\(error.message)): \(shown.count > 120 ? shown.prefix(120) + "…" : shown)")
        }

        guard let descrValue = dict["descr"] else { throw fail("the .npy header has no 'descr'") }
        guard case .string(let descr) = descrValue else {
            throw fail("unsupported dtype \(descrValue.pythonText) (structured arrays are not supported)")
        }
        guard parseDType(descr) != nil else { throw fail("unsupported dtype '\(descr)'") }

        guard case .bool(let fortranOrder)? = dict["fortran_order"] else {
            throw fail("the .npy header has no boolean 'fortran_order'")
        }
        guard case .tuple(let dims)? = dict["shape"] else { throw fail("the .npy header has no 'shape' tuple") }
        var shape: [Int] = []
        for dim in dims {
            guard case .int(let d) = dim, d >= 0 else { throw fail("bad shape \(PyValue.tuple(dims).pythonText) in the .npy header") }
            shape.append(d)
        }
        return (descr, fortranOrder, shape)
    }

    /// The header as NumPy writes it (`{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }`), read
    /// straight from its bytes: the Python-literal parser's Characters and dictionary were a fifth of a
    /// small workload's instructions. Nil for anything else (a byte that is not ASCII, an escape, another
    /// key, a key twice, a value of another kind, a negative or long number, bad syntax): `generalHeader`
    /// reads those, so results and messages do not depend on which path read the header.
    static func plainHeader(_ bytes: UnsafeRawBufferPointer) -> (descr: String, fortranOrder: Bool, shape: [Int])? {
        var i = 0
        let n = bytes.count
        // What the parser's `Character.isWhitespace` is on ASCII: tab, line feed, vertical tab, form feed,
        // carriage return, space.
        func skipSpace() { while i < n, bytes[i] == 0x20 || (bytes[i] >= 0x09 && bytes[i] <= 0x0D) { i += 1 } }
        func take(_ byte: UInt8) -> Bool {
            skipSpace()
            guard i < n, bytes[i] == byte else { return false }
            i += 1
            return true
        }
        /// A quoted string without escapes, ASCII only.
        func quoted() -> UnsafeRawBufferPointer? {
            skipSpace()
            guard i < n, bytes[i] == 0x27 || bytes[i] == 0x22 else { return nil }
            let quote = bytes[i]
            i += 1
            let start = i
            while i < n, bytes[i] != quote {
                guard bytes[i] < 0x80, bytes[i] != 0x5C else { return nil }
                i += 1
            }
            guard i < n else { return nil }
            i += 1
            return UnsafeRawBufferPointer(rebasing: bytes[start..<i - 1])
        }
        /// A word as the parser reads one (letters, digits, `-`, `_`); nil when a byte that is not ASCII
        /// follows (it could be a letter of the word).
        func word() -> UnsafeRawBufferPointer? {
            skipSpace()
            let start = i
            while i < n {
                let b = bytes[i]
                let isWordByte = (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b == 0x2D || b == 0x5F
                if !isWordByte { break }
                i += 1
            }
            if i < n && bytes[i] >= 0x80 { return nil }
            return UnsafeRawBufferPointer(rebasing: bytes[start..<i])
        }
        func equals(_ text: UnsafeRawBufferPointer, _ expected: StaticString) -> Bool {
            text.count == expected.utf8CodeUnitCount && memcmp(text.baseAddress!, expected.utf8Start, text.count) == 0
        }
        var descr: String?, fortranOrder: Bool?, shape: [Int]?
        guard take(0x7B) else { return nil }  // {
        skipSpace()
        while i < n, bytes[i] != 0x7D {  // }
            guard let key = quoted(), take(0x3A) else { return nil }  // :
            if equals(key, "descr") {
                guard descr == nil, let value = quoted() else { return nil }
                descr = String(decoding: value, as: UTF8.self)
            } else if equals(key, "fortran_order") {
                guard fortranOrder == nil, let value = word() else { return nil }
                if equals(value, "True") { fortranOrder = true } else if equals(value, "False") { fortranOrder = false } else { return nil }
            } else if equals(key, "shape") {
                guard shape == nil, take(0x28) else { return nil }  // (
                var dims: [Int] = []
                skipSpace()
                while i < n, bytes[i] != 0x29 {  // )
                    // Up to 18 digits: no overflow.
                    guard let digits = word(), !digits.isEmpty, digits.count <= 18 else { return nil }
                    var d = 0
                    for b in digits {
                        guard b >= 0x30 && b <= 0x39 else { return nil }
                        d = d * 10 + Int(b - 0x30)
                    }
                    dims.append(d)
                    if take(0x2C) { skipSpace() } else { break }  // ,
                }
                guard take(0x29) else { return nil }
                shape = dims
            } else {
                return nil
            }
            if take(0x2C) { skipSpace() } else { break }
        }
        guard take(0x7D) else { return nil }
        skipSpace()
        guard i == n, let descr, let fortranOrder, let shape else { return nil }
        return (descr, fortranOrder, shape)
    }

    static func decode(_ data: [UInt8], name: String) throws -> Tensor {
        return try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Tensor in
            let header = try header(raw, name: name)
            let (dtype, shape, count, dataStart) = (header.dtype, header.shape, header.count, header.dataStart)
            let needed = count * dtype.size
            let available = raw.count - dataStart
            guard available >= needed else {
                throw TensorError("\(name): truncated data: shape \(Shape.describe(shape)) of '\(header.descr)' needs \(needed) bytes, the file has \(available)")
            }
            let body = UnsafeRawBufferPointer(rebasing: raw[dataStart..<dataStart + needed])
            var scalars = [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
                convert(body, dtype: dtype, count: count, into: buffer.baseAddress!)
                initialized = count
            }
            if header.fortranOrder && shape.count > 1 && count > 0 {
                scalars = columnMajorToRowMajor(scalars, shape: shape)
            }
            return Tensor(shape: shape, scalars: scalars)
        }
    }

    /// Reads the open `.npy` file `fd` of `fileSize` bytes, little-endian float64 in C order (what NumPy saves
    /// by default), straight into the tensor's buffer, instead of reading the whole file and then converting
    /// it: half the memory and one copy less (a 1024×1024 matrix: 8 MiB instead of 16). Nil for any other
    /// file, and for any problem: `decode` then reads the file and reports it.
    static func readFloat64(_ fd: Int32, fileSize: Int, path: String) -> Tensor? {
        // The header fits in the first 4 KiB (NumPy writes it in 128 bytes or a few more).
        let prefixSize = min(fileSize, 4096)
        let prefix = [UInt8](unsafeUninitializedCapacity: prefixSize) { buffer, initialized in
            initialized = FileText.read(fd, into: UnsafeMutableRawBufferPointer(buffer), at: 0)
        }
        guard prefix.count == prefixSize, prefix.starts(with: magic),
              let header = try? prefix.withUnsafeBytes({ try NPY.header($0, name: path) }),
              header.dtype.kind == .float, header.dtype.size == 8, !header.dtype.bigEndian,
              !header.fortranOrder || header.shape.count <= 1,
              fileSize - header.dataStart >= header.count * 8 else { return nil }
        let count = header.count, bytes = count * 8
        var complete = false
        let scalars = [Double](unsafeUninitializedCapacity: count) { buffer, initialized in
            let out = UnsafeMutableRawBufferPointer(buffer)
            // Whatever of the data came with the header's read, then the rest straight from the file.
            let inPrefix = min(max(prefixSize - header.dataStart, 0), bytes)
            prefix.withUnsafeBytes { p in
                if inPrefix > 0 { out.baseAddress!.copyMemory(from: p.baseAddress! + header.dataStart, byteCount: inPrefix) }
            }
            let rest = UnsafeMutableRawBufferPointer(rebasing: out[inPrefix..<bytes])
            complete = FileText.read(fd, into: rest, at: header.dataStart + inPrefix) == rest.count
            // Little-endian doubles are the machine's own (every platform tapebook builds for).
            initialized = complete ? count : 0
        }
        return complete ? Tensor(shape: header.shape, scalars: scalars) : nil
    }

    /// `'<f8'`, `'>i4'`, `'|u1'`, `'|b1'`, `'<?'`, `'=f8'`… Nil for anything we don't read.
    static func parseDType(_ descr: String) -> DType? {
        // On the UTF-8 bytes: every dtype read is ASCII, and a string with any other byte is none of them.
        var bytes = Array(descr.utf8)[...]
        guard let first = bytes.first, bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        var bigEndian = false
        switch first {
        case UInt8(ascii: "<"), UInt8(ascii: "|"), UInt8(ascii: "="): bytes = bytes.dropFirst()  // '=' is native order, little-endian on every platform we build for
        case UInt8(ascii: ">"): bigEndian = true; bytes = bytes.dropFirst()
        default: break
        }
        if bytes.elementsEqual([UInt8(ascii: "?")]) { return DType(kind: .bool, size: 1, bigEndian: false) }
        guard bytes.count >= 2, let size = Int(String(decoding: bytes.dropFirst(), as: UTF8.self)) else { return nil }
        switch (bytes.first!, size) {
        case (UInt8(ascii: "f"), 4), (UInt8(ascii: "f"), 8): return DType(kind: .float, size: size, bigEndian: bigEndian)
        case (UInt8(ascii: "i"), 1), (UInt8(ascii: "i"), 2), (UInt8(ascii: "i"), 4), (UInt8(ascii: "i"), 8):
            return DType(kind: .signed, size: size, bigEndian: bigEndian)
        case (UInt8(ascii: "u"), 1), (UInt8(ascii: "u"), 2), (UInt8(ascii: "u"), 4), (UInt8(ascii: "u"), 8):
            return DType(kind: .unsigned, size: size, bigEndian: bigEndian)
        case (UInt8(ascii: "b"), 1): return DType(kind: .bool, size: 1, bigEndian: false)
        default: return nil
        }
    }

    private static func convert(_ body: UnsafeRawBufferPointer, dtype: DType, count: Int, into out: UnsafeMutablePointer<Double>) {
        let big = dtype.bigEndian
        @inline(__always) func each<T>(_ type: T.Type, _ value: (T) -> Double) {
            for i in 0..<count {
                out[i] = value(body.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
            }
        }
        switch (dtype.kind, dtype.size) {
        case (.float, 8):
            each(UInt64.self) { Double(bitPattern: big ? UInt64(bigEndian: $0) : UInt64(littleEndian: $0)) }
        case (.float, 4):
            each(UInt32.self) { Double(Float(bitPattern: big ? UInt32(bigEndian: $0) : UInt32(littleEndian: $0))) }
        case (.signed, 8): each(Int64.self) { Double(big ? Int64(bigEndian: $0) : Int64(littleEndian: $0)) }
        case (.signed, 4): each(Int32.self) { Double(big ? Int32(bigEndian: $0) : Int32(littleEndian: $0)) }
        case (.signed, 2): each(Int16.self) { Double(big ? Int16(bigEndian: $0) : Int16(littleEndian: $0)) }
        case (.signed, 1): each(Int8.self) { Double($0) }
        case (.unsigned, 8): each(UInt64.self) { Double(big ? UInt64(bigEndian: $0) : UInt64(littleEndian: $0)) }
        case (.unsigned, 4): each(UInt32.self) { Double(big ? UInt32(bigEndian: $0) : UInt32(littleEndian: $0)) }
        case (.unsigned, 2): each(UInt16.self) { Double(big ? UInt16(bigEndian: $0) : UInt16(littleEndian: $0)) }
        case (.unsigned, 1): each(UInt8.self) { Double($0) }
        case (.bool, _): each(UInt8.self) { $0 != 0 ? 1 : 0 }
        default: preconditionFailure("parseDType admitted \(dtype)")
        }
    }

    /// Elements stored column-major (Fortran order) for `shape`, reordered row-major.
    static func columnMajorToRowMajor(_ source: [Double], shape: [Int]) -> [Double] {
        let rank = shape.count
        // Column-major strides: the first axis varies fastest.
        var fortranStrides = [Int](repeating: 1, count: rank)
        for axis in 1..<rank { fortranStrides[axis] = fortranStrides[axis - 1] * shape[axis - 1] }
        let count = source.count
        let last = rank - 1
        let innerLength = shape[last]
        let innerStride = fortranStrides[last]
        return [Double](unsafeUninitializedCapacity: count) { out, initialized in
            source.withUnsafeBufferPointer { src in
                var index = [Int](repeating: 0, count: rank)
                var offset = 0  // column-major offset of `index` with its last coordinate at 0
                var position = 0
                while position < count {
                    for j in 0..<innerLength { out[position + j] = src[offset + j * innerStride] }
                    position += innerLength
                    // Advance the odometer over the outer axes.
                    var axis = last - 1
                    while axis >= 0 {
                        index[axis] += 1
                        offset += fortranStrides[axis]
                        if index[axis] < shape[axis] { break }
                        offset -= index[axis] * fortranStrides[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                    if axis < 0 { break }
                }
            }
            initialized = count
        }
    }

    // MARK: Writing

    static func encode(_ tensor: Tensor) -> Data {
        let shapeText: String
        switch tensor.shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(tensor.shape[0]),)"
        default: shapeText = "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': \(shapeText), }"
        // NumPy pads the header with spaces and a final newline so that the data starts on a 64-byte boundary.
        var version: UInt8 = 1
        var prefixLength = 10
        if (prefixLength + header.utf8.count + 1 + 63) / 64 * 64 - prefixLength > Int(UInt16.max) {
            version = 2
            prefixLength = 12
        }
        let total = (prefixLength + header.utf8.count + 1 + 63) / 64 * 64
        header += String(repeating: " ", count: total - prefixLength - header.utf8.count - 1) + "\n"
        let headerLength = header.utf8.count

        var data = Data(capacity: total + tensor.count * 8)
        data.append(contentsOf: magic)
        data.append(contentsOf: [version, 0])
        if version == 1 {
            data.append(contentsOf: [UInt8(headerLength & 0xFF), UInt8(headerLength >> 8)])
        } else {
            data.append(contentsOf: (0..<4).map { UInt8((headerLength >> (8 * $0)) & 0xFF) })
        }
        data.append(contentsOf: Array(header.utf8))
        tensor.withUnsafeBufferPointer { buffer in
            #if _endian(little)
            data.append(UnsafeBufferPointer(start: buffer.baseAddress, count: buffer.count))
            #else
            for v in buffer { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
            #endif
        }
        return data
    }
}

// MARK: - The Python literals of an .npy header

indirect enum PyValue {
    case string(String)
    case int(Int)
    case bool(Bool)
    case none
    case tuple([PyValue])
    case list([PyValue])
    case dict([String: PyValue])

    var pythonText: String {
        switch self {
        case .string(let s): return "'\(s)'"
        case .int(let i): return String(i)
        case .bool(let b): return b ? "True" : "False"
        case .none: return "None"
        case .tuple(let items): return "(" + items.map(\.pythonText).joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
        case .list(let items): return "[" + items.map(\.pythonText).joined(separator: ", ") + "]"
        case .dict(let d): return "{" + d.map { "'\($0.key)': \($0.value.pythonText)" }.joined(separator: ", ") + "}"
        }
    }
}

/// Parses the small subset of Python literals that `numpy.lib.format` writes:
/// dicts, strings, ints, `True`/`False`/`None`, tuples and lists.
struct PyLiteralParser {
    struct Failure: Error { var message: String }

    private let chars: [Character]
    private var position = 0
    /// How deep containers nest; a header nests two deep, and a deeper one must not overflow the stack.
    private var depth = 0
    static let maximumDepth = 32

    init(_ text: String) { chars = Array(text) }

    mutating func parseTop() throws -> PyValue {
        let value = try parseValue()
        skipSpace()
        guard position == chars.count else { throw Failure(message: "unexpected '\(chars[position])'") }
        return value
    }

    private mutating func skipSpace() {
        while position < chars.count, chars[position].isWhitespace { position += 1 }
    }

    private mutating func expect(_ c: Character) throws {
        skipSpace()
        guard position < chars.count, chars[position] == c else {
            throw Failure(message: position < chars.count ? "expected '\(c)', found '\(chars[position])'" : "expected '\(c)' at the end")
        }
        position += 1
    }

    private mutating func peek() -> Character? {
        skipSpace()
        return position < chars.count ? chars[position] : nil
    }

    private mutating func parseValue() throws -> PyValue {
        guard let c = peek() else { throw Failure(message: "unexpected end") }
        if c == "{" || c == "(" || c == "[" {
            guard depth < PyLiteralParser.maximumDepth else { throw Failure(message: "nested more than \(PyLiteralParser.maximumDepth) deep") }
            depth += 1
        }
        defer { if c == "{" || c == "(" || c == "[" { depth -= 1 } }
        switch c {
        case "{":
            position += 1
            var dict: [String: PyValue] = [:]
            while peek() != "}" {
                guard case .string(let key) = try parseValue() else { throw Failure(message: "a dictionary key is not a string") }
                try expect(":")
                dict[key] = try parseValue()
                if peek() == "," { position += 1 } else { break }
            }
            try expect("}")
            return .dict(dict)
        case "(", "[":
            let close: Character = c == "(" ? ")" : "]"
            position += 1
            var items: [PyValue] = []
            while peek() != close {
                items.append(try parseValue())
                if peek() == "," { position += 1 } else { break }
            }
            try expect(close)
            return c == "(" ? .tuple(items) : .list(items)
        case "'", "\"":
            position += 1
            var text = ""
            while position < chars.count, chars[position] != c {
                if chars[position] == "\\", position + 1 < chars.count { position += 1 }
                text.append(chars[position])
                position += 1
            }
            guard position < chars.count else { throw Failure(message: "unterminated string") }
            position += 1
            return .string(text)
        default:
            var word = ""
            while position < chars.count, chars[position].isLetter || chars[position].isNumber || chars[position] == "-" || chars[position] == "_" {
                word.append(chars[position])
                position += 1
            }
            // Python 2 era files may write long ints as `3L`.
            if word.hasSuffix("L"), let i = Int(word.dropLast()) { return .int(i) }
            switch word {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            default:
                if let i = Int(word) { return .int(i) }
                throw Failure(message: word.isEmpty ? "unexpected '\(c)'" : "unexpected '\(word)'")
            }
        }
    }
}

// MARK: - CSV

enum CSV {
    static func decode(_ data: [UInt8], name: String) throws -> Tensor {
        guard let text = String(validating: data, as: UTF8.self) else {
            throw TensorError("\(name): not a text file (it is not UTF-8)")
        }
        var scalars: [Double] = []
        var columns = -1          // numbers per row, set by the first data row
        var firstRowLine = 0
        var rows = 0
        var sawFirstLine = false
        var lineNumber = 0
        // NOTE: "\r\n" is one Character in Swift, and a newline.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            var line = rawLine
            if lineNumber == 1, line.first == "\u{FEFF}" { line = line.dropFirst() }  // byte-order mark
            let trimmed = line.trimmingWhitespace()
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }

            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            let isFirst = !sawFirstLine
            sawFirstLine = true
            if isFirst && isHeader(fields) { continue }
            var values: [Double] = []
            values.reserveCapacity(fields.count)
            for (index, field) in fields.enumerated() {
                guard let value = parseNumber(field) else {
                    let text = field.trimmingWhitespace()
                    if text.isEmpty { throw TensorError(FileMessages.csvEmptyField(name, line: lineNumber, column: index + 1)) }
                    if hasOtherSeparator(field) {
                        throw TensorError(FileMessages.csvOtherSeparator(name, line: lineNumber, column: index + 1, field: text))
                    }
                    throw TensorError(FileMessages.csvNotANumber(name, line: lineNumber, column: index + 1, field: text))
                }
                values.append(value)
            }
            if columns < 0 {
                columns = values.count
                firstRowLine = lineNumber
            } else if values.count != columns {
                throw TensorError(FileMessages.csvRowLength(name, line: lineNumber, found: values.count, expected: columns, firstLine: firstRowLine))
            }
            rows += 1
            do {
                try Shape.checkAllocation([rows, columns])
            } catch let error as TensorError {
                throw TensorError("\(name): \(error.message)")
            }
            scalars.append(contentsOf: values)
        }
        // NOTE: NumPy only warns about a file without data and returns an empty array; an empty
        // tensor would hide a wrong file until much later, so this is an error.
        guard rows > 0 else { throw TensorError(FileMessages.csvNoRows(name)) }
        // `np.loadtxt`'s default `ndmin=0` squeezes the axes of length 1.
        switch (rows, columns) {
        case (1, 1): return Tensor(scalars[0])
        case (1, _), (_, 1): return Tensor(vector: scalars)
        default: return Tensor(shape: [rows, columns], scalars: scalars)
        }
    }

    /// Whether a first line is a header of names (`x, y`, `"a","b"`, or `,price` as pandas writes an
    /// index's): no field is a number, and each that is not empty starts with a letter, `_` or a quote.
    /// So `1 2 3` or `1;2` is not a header but a line that is not numbers.
    static func isHeader(_ fields: [Substring]) -> Bool {
        var names = 0
        for field in fields {
            let text = field.trimmingWhitespace()
            guard let first = text.first else { continue }
            guard parseNumber(field) == nil, first.isLetter || first == "_" || first == "\"" || first == "'" else { return false }
            names += 1
        }
        return names > 0
    }

    /// Whether a field that is not a number is numbers separated by spaces, tabs or semicolons (`1 2 3`,
    /// `1;2`): the file was written with another separator.
    static func hasOtherSeparator(_ field: Substring) -> Bool {
        let pieces = field.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ";" })
        return pieces.count > 1 && pieces.allSatisfy { parseNumber($0) != nil }
    }

    /// The tensor as lines of comma-separated numbers (ranks 0 to 2; a vector is one column).
    static func encode(_ tensor: Tensor) -> String {
        let columns = tensor.rank == 2 ? tensor.shape[1] : 1
        var text = ""
        tensor.withUnsafeBufferPointer { buffer in
            for (index, value) in buffer.enumerated() {
                text += number(value)
                text += (index + 1) % columns == 0 ? "\n" : ","
            }
        }
        return text
    }

    /// The shortest text that reads back to the same float64 (Swift's `description`), without the
    /// `.0` of an integral value: `0.1`, `2`, `-0`, `1e-300`, `nan`, `-inf`.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        let text = value.description
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }

    /// A number as `np.loadtxt` reads one, spaces around it allowed; nil when it is not one.
    static func parseNumber(_ field: Substring) -> Double? {
        let text = field.trimmingWhitespace()
        guard !text.isEmpty else { return nil }
        // Swift's Double(_:) also reads hexadecimal floats ("0x1p3"); NumPy doesn't, neither do we.
        let lower = text.lowercased()
        if lower.containsText("x") { return nil }
        switch lower {
        case "nan", "+nan", "-nan": return .nan
        case "inf", "+inf", "infinity", "+infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        default:
            guard let first = lower.first, first.isNumber || first == "-" || first == "+" || first == "." else { return nil }
            return Double(text)
        }
    }
}
