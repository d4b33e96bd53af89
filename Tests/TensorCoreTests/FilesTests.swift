import Foundation
import XCTest
@testable import TensorCore

/// `.npy` and CSV files, checked against NumPy itself: fixtures are written by `python3` with NumPy at
/// test time, and what we write is read back by `numpy.load`. Skipped where python3 with NumPy is missing.
final class FilesTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tapebook-files-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Runs a Python script with NumPy imported as `np`, in the temporary directory; returns its stdout.
    @discardableResult
    private func python(_ script: String, arguments: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import numpy as np\n" + script] + arguments
        process.currentDirectoryURL = directory
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch { throw XCTSkip("python3 is not available: \(error)") }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stderr = String(decoding: errData, as: UTF8.self)
        if process.terminationStatus != 0 {
            if stderr.contains("No module named 'numpy'") { throw XCTSkip("NumPy is not installed") }
            XCTFail("python3 failed (\(process.terminationStatus)):\n\(stderr)", file: file, line: line)
            throw TensorError("python3 failed")
        }
        return String(decoding: outData, as: UTF8.self)
    }

    /// Asserts the same shape and bit-identical elements (NaNs compare by being NaN).
    private func assertIdentical(_ actual: Tensor, _ expected: Tensor, _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.shape, expected.shape, "shape \(message)", file: file, line: line)
        guard actual.count == expected.count else { return }
        for i in 0..<actual.count {
            let a = actual.scalars[i], e = expected.scalars[i]
            if a.isNaN && e.isNaN { continue }
            if a.bitPattern != e.bitPattern {
                XCTFail("\(message): element \(i) is \(a), expected \(e)", file: file, line: line)
                return
            }
        }
    }

    private func assertLoadError(_ path: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Tensor.load(path: path), file: file, line: line) { error in
            XCTAssertEqual((error as? TensorError)?.message, expected, file: file, line: line)
        }
    }

    // MARK: - Reading .npy

    /// Every supported dtype, both byte orders, C and Fortran order, ranks 0 to 5, zero-size arrays and
    /// format versions 1, 2 and 3. NumPy writes each fixture and, beside it, its float64 values as hex floats.
    func testReadsWhatNumPyWrites() throws {
        let cases = try python(#"""
        import itertools
        cases = []
        base = np.array([-3, -1, 0, 1, 2, 5, 7, 8, 100, 127, -128, 42], dtype=np.int64).reshape(3, 4)
        for kind, sizes in [("f", [4, 8]), ("i", [1, 2, 4, 8]), ("u", [1, 2, 4, 8])]:
            for size in sizes:
                for order in ("<", ">"):
                    if size == 1 and order == ">":
                        continue
                    dt = np.dtype(f"{order}{kind}{size}")
                    a = (np.abs(base) if kind == "u" else base).astype(dt)
                    if kind == "f":
                        a = a / np.asarray(7, dtype=dt)  # fractions that round differently in f4 and f8
                    cases.append((f"{dt.str[1:]}_{'le' if order == '<' else 'be'}", a.astype(dt)))
        cases.append(("u8_large", np.array([2**64 - 1, 2**53 + 1, 0], dtype="<u8")))
        cases.append(("i8_extremes", np.array([-2**63, 2**63 - 1], dtype="<i8")))
        cases.append(("b1", np.array([[True, False], [False, True]])))
        cases.append(("f8_specials", np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324, 1.7976931348623157e308, 0.1])))
        cases.append(("f4_specials", np.array([np.nan, np.inf, -np.inf, -0.0, 1e-45, 3.4028235e38, 0.1], dtype="<f4")))
        cases.append(("scalar", np.array(3.25)))
        cases.append(("scalar_i4", np.array(-7, dtype="<i4")))
        cases.append(("empty", np.zeros((0,))))
        cases.append(("empty_3d", np.zeros((2, 0, 3), dtype=">f4")))
        cases.append(("rank5", np.arange(12, dtype="<f8").reshape(2, 1, 3, 1, 2)))
        f3 = np.asfortranarray(np.arange(24, dtype="<f8").reshape(2, 3, 4))
        cases.append(("fortran_3d", f3))
        cases.append(("fortran_2d_be_i4", np.asfortranarray(np.arange(-6, 6, dtype=">i4").reshape(3, 4))))
        cases.append(("fortran_4d_f4", np.asfortranarray((np.arange(120, dtype="<f4") / 3).reshape(2, 3, 4, 5))))
        cases.append(("fortran_empty", np.asfortranarray(np.zeros((3, 0)))))
        cases.append(("fortran_column", np.asfortranarray(np.arange(5.0).reshape(5, 1))))
        names = []
        for name, a in cases:
            np.save(f"{name}.npy", a)
            names.append((name, a))
        for version in [(1, 0), (2, 0), (3, 0)]:
            a = np.arange(6, dtype="<f8").reshape(2, 3) * 1.5
            name = f"version_{version[0]}"
            with open(f"{name}.npy", "wb") as f:
                np.lib.format.write_array(f, a, version=version)
            names.append((name, a))
        for name, a in names:
            if name.startswith("fortran"):
                assert np.load(f"{name}.npy").flags.f_contiguous or a.ndim < 2 or a.size == 0, name
            flat = np.ascontiguousarray(a).astype(np.float64).ravel()
            print(name, ",".join(map(str, a.shape)) or "-", " ".join(float(v).hex() for v in flat) or "-")
        """#)
        var seen = 0
        for line in cases.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
            XCTAssertEqual(parts.count, 3, "bad line \(line)")
            guard parts.count == 3 else { continue }
            let shape = parts[1] == "-" ? [] : parts[1].split(separator: ",").map { Int($0)! }
            let values = parts[2] == "-" ? [] : parts[2].split(separator: " ").map { Double(String($0))! }
            let loaded = try Tensor.load(path: path(parts[0] + ".npy"))
            assertIdentical(loaded, Tensor(shape: shape, scalars: values), parts[0])
            seen += 1
        }
        XCTAssertGreaterThanOrEqual(seen, 30)
    }

    func testFortranOrderIsTransposedToRowMajor() throws {
        try python(#"np.save("f.npy", np.asfortranarray(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])))"#)
        let t = try Tensor.load(path: path("f.npy"))
        XCTAssertEqual(t, Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]))
    }

    func testUnsupportedDTypeIsNamed() throws {
        try python(#"""
        np.save("x.npy", np.zeros(3, dtype="<c16"))
        np.save("s.npy", np.zeros(2, dtype=[("a", "<f8"), ("b", "<i4")]))
        np.save("u.npy", np.array(["ab", "c"]))
        """#)
        assertLoadError(path("x.npy"), "\(path("x.npy")): unsupported dtype '<c16'")
        assertLoadError(path("u.npy"), "\(path("u.npy")): unsupported dtype '<U2'")
        XCTAssertThrowsError(try Tensor.load(path: path("s.npy"))) { error in
            let message = (error as? TensorError)?.message ?? ""
            XCTAssertTrue(message.hasPrefix("\(path("s.npy")): unsupported dtype [('a', '<f8'), ('b', '<i4')]"), message)
            XCTAssertTrue(message.contains("structured arrays are not supported"), message)
        }
    }

    func testTruncatedAndCorruptFiles() throws {
        try python(#"""
        np.save("full.npy", np.arange(10.0))
        data = open("full.npy", "rb").read()
        open("short.npy", "wb").write(data[:-8])
        open("header.npy", "wb").write(data[:20])
        open("magic.npy", "wb").write(b"not a numpy file at all")
        open("version.npy", "wb").write(b"\x93NUMPY\x09\x00" + data[8:])
        """#)
        assertLoadError(path("short.npy"), "\(path("short.npy")): truncated data: shape [10] of '<f8' needs 80 bytes, the file has 72")
        assertLoadError(path("header.npy"), "\(path("header.npy")): truncated .npy header")
        assertLoadError(path("magic.npy"), "\(path("magic.npy")): not a NumPy .npy file (it does not start with \\x93NUMPY)")
        assertLoadError(path("version.npy"), "\(path("version.npy")): unsupported .npy format version 9.0")
        assertLoadError(path("missing.npy"), "\(path("missing.npy")): cannot read: no such file")
        let directory = path("folder.npy")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        assertLoadError(directory, "\(directory): cannot read: is a directory")
        try Data("1,2".utf8).write(to: URL(fileURLWithPath: path("data.bin")))
        assertLoadError(path("data.bin"), "\(path("data.bin")): unknown file type '.bin' (expected .npy or .csv)")
    }

    /// Little-endian float64 in C order is read straight into the tensor (`NPY.readFloat64`), with the same
    /// result as the general decoding; any other file is left to that decoding.
    func testFloat64FilesAreReadDirectly() throws {
        try python(#"""
        rng = np.random.default_rng(5)
        np.save("scalar.npy", np.float64(-2.5))
        np.save("empty.npy", np.zeros((0, 3)))
        np.save("matrix.npy", rng.standard_normal((3, 4)))
        np.save("long.npy", rng.standard_normal(700))          # past the first 4 KiB read with the header
        np.save("big.npy", rng.standard_normal((300, 200)))
        np.save("fortran.npy", np.asfortranarray(rng.standard_normal((20, 30))))
        np.save("single.npy", rng.standard_normal(10).astype("<f4"))
        np.save("big_endian.npy", rng.standard_normal(10).astype(">f8"))
        """#)
        for name in ["scalar", "empty", "matrix", "long", "big"] {
            let direct = try XCTUnwrap(readFloat64(path: path(name + ".npy")), name)
            let bytes = try XCTUnwrap(FileManager.default.contents(atPath: path(name + ".npy")), name)
            assertIdentical(direct, try NPY.decode([UInt8](bytes), name: name), name)
        }
        for name in ["fortran", "single", "big_endian"] {
            XCTAssertNil(readFloat64(path: path(name + ".npy")), name)
            XCTAssertNoThrow(try Tensor.load(path: path(name + ".npy")), name)
        }
        XCTAssertNil(readFloat64(path: path("missing.npy")))
    }

    /// `NPY.readFloat64` of the file at `path`, as `Tensor.load` calls it; nil when it cannot be opened.
    private func readFloat64(path: String) -> Tensor? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        return NPY.readFloat64(fd, fileSize: Int(info.st_size), path: path)
    }

    /// A header that claims more elements than the limit is refused before anything is allocated.
    func testElementLimitIsCheckedBeforeAllocating() throws {
        try python(#"""
        with open("huge.npy", "wb") as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (200000, 100000)})
            f.write(b"\0" * 16)
        with open("huge.npy", "rb") as f:  # NumPy agrees the header is well formed
            np.lib.format.read_magic(f)
            assert np.lib.format.read_array_header_1_0(f)[0] == (200000, 100000)
        """#)
        XCTAssertThrowsError(try Tensor.load(path: path("huge.npy"))) { error in
            let message = (error as? TensorError)?.message ?? ""
            XCTAssertTrue(message.hasPrefix(path("huge.npy") + ": a tensor of shape [200000, 100000] has more than"), message)
        }
    }

    // MARK: - Writing .npy

    /// What we write, NumPy reads back as the same float64 values, and writes itself byte for byte.
    func testNumPyReadsWhatWeWrite() throws {
        let tensors: [String: Tensor] = [
            "scalar": Tensor(-2.5),
            "vector": Tensor(vector: [1.0 / 3.0, .nan, .infinity, -.infinity, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude]),
            "matrix": Tensor(shape: [2, 3], scalars: [0.1, 0.2, 0.3, 1e300, -1e-300, 42]),
            "empty": Tensor(shape: [0], scalars: []),
            "empty_3d": Tensor(shape: [2, 0, 4], scalars: []),
            "rank4": Tensor(shape: [1, 2, 3, 2], scalars: (0..<12).map { Double($0) * 0.7 - 3 }),
        ]
        var arguments: [String] = []
        for (name, tensor) in tensors.sorted(by: { $0.key < $1.key }) {
            try tensor.saveNPY(path: path(name + ".npy"))
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            arguments.append("\(name)|\(shape)|" + tensor.scalars.map { hexFloat($0) }.joined(separator: " "))
            // And we read back our own files exactly.
            assertIdentical(try Tensor.load(path: path(name + ".npy")), tensor, name)
        }
        let report = try python(#"""
        import sys, io
        for arg in sys.argv[1:]:
            name, shape, values = arg.split("|")
            shape = tuple(int(d) for d in shape.split(",")) if shape else ()
            expected = np.array([float.fromhex(v) for v in values.split()], dtype=np.float64).reshape(shape)
            got = np.load(f"{name}.npy")
            assert got.dtype == np.float64 and got.dtype.byteorder in "=<", (name, got.dtype)
            assert got.shape == expected.shape, (name, got.shape, expected.shape)
            assert got.flags.c_contiguous
            assert np.array_equal(got, expected, equal_nan=True), name
            assert got.tobytes() == expected.tobytes(), name
            buffer = io.BytesIO()
            np.save(buffer, expected)
            assert open(f"{name}.npy", "rb").read() == buffer.getvalue(), f"{name}: file differs from np.save's"
            print("ok", name)
        """#, arguments: arguments)
        XCTAssertEqual(report.split(separator: "\n").count, tensors.count, report)
    }

    func testSaveReplacesAndReportsUnwritablePaths() throws {
        let target = path("w.npy")
        try Tensor(vector: [1, 2, 3]).saveNPY(path: target)
        try Tensor(7).saveNPY(path: target)
        XCTAssertEqual(try Tensor.load(path: target), Tensor(7))
        let bad = path("no-such-dir/w.npy")
        XCTAssertThrowsError(try Tensor(1).saveNPY(path: bad)) { error in
            let message = (error as? TensorError)?.message ?? ""
            XCTAssertTrue(message.hasPrefix("\(bad): cannot write: "), message)
        }
    }

    // MARK: - CSV

    private func writeText(_ name: String, _ text: String) throws -> String {
        let p = path(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: p))
        return p
    }

    func testCSVWithHeaderSpacesAndSpecialValues() throws {
        let p = try writeText("data.csv", "a, b, c\n1, 2.5, -3e2\n nan,inf , -inf\n\n4,5,6\n")
        let t = try Tensor.load(path: p)
        XCTAssertEqual(t.shape, [3, 3])
        XCTAssertEqual(Array(t.scalars[0..<3]), [1, 2.5, -300])
        XCTAssertTrue(t.scalars[3].isNaN)
        XCTAssertEqual(Array(t.scalars[4...]), [.infinity, -.infinity, 4, 5, 6])
        // NumPy reads the same file to the same values.
        let numpy = try python(#"""
        a = np.loadtxt("data.csv", delimiter=",", skiprows=1, ndmin=2)
        print(a.shape, " ".join(float(v).hex() for v in a.ravel()))
        """#)
        let values = numpy.split(separator: ")", maxSplits: 1)[1].split(whereSeparator: \.isWhitespace).map { Double(String($0))! }
        assertIdentical(t, Tensor(shape: [3, 3], scalars: values), "np.loadtxt")
    }

    /// The shapes of `np.loadtxt(path, delimiter=",")`, whose default `ndmin=0` squeezes: one column
    /// or one row is a vector, one number a scalar.
    func testCSVShapesAreNumPys() throws {
        XCTAssertEqual(try Tensor.load(path: try writeText("col.csv", "1\n2\n3\n")), Tensor(vector: [1, 2, 3]))
        XCTAssertEqual(try Tensor.load(path: try writeText("row.csv", "1,2,3")), Tensor(vector: [1, 2, 3]))
        XCTAssertEqual(try Tensor.load(path: try writeText("one.txt", "# a comment\n7\n")), Tensor(7))
        XCTAssertEqual(try Tensor.load(path: try writeText("crlf.csv", "x,y\r\n1,2\r\n3,4\r\n")), Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]))
        XCTAssertEqual(try Tensor.load(path: try writeText("pandas.csv", ",a,b\n0,1.5,2\n1,3,4\n")), Tensor(shape: [2, 3], scalars: [0, 1.5, 2, 1, 3, 4]))
        let shapes = try python(#"""
        for name in ["col.csv", "row.csv", "one.txt"]:
            print(name, np.loadtxt(name, delimiter=",").shape)
        print("crlf.csv", np.loadtxt("crlf.csv", delimiter=",", skiprows=1).shape)
        """#)
        XCTAssertEqual(shapes, "col.csv (3,)\nrow.csv (3,)\none.txt ()\ncrlf.csv (2, 2)\n")
    }

    func testCSVErrorsNameFileLineAndProblem() throws {
        // Each file's error is its path followed by the text beside it.
        let cases: [(name: String, text: String, error: String)] = [
            ("data.csv", "1,2,3,4\n5,6,7,8\n9,10,11\n", " line 3: expected 4 numbers (as on line 1), found 3"),
            ("data2.csv", "a,b\n\n1,2\n3\n", " line 4: expected 2 numbers (as on line 3), found 1"),
            ("word.csv", "h1,h2\n1,2\n3,abc\n", " line 3, column 2: 'abc' is not a number"),
            ("gap.csv", "1,,3\n", " line 1, column 2: an empty field"),
            ("gap2.csv", "a,b\n1,2\n3, \n", " line 3, column 2: an empty field"),
            ("second.csv", "1,2\nx,y\n", " line 2, column 1: 'x' is not a number"),
            // A first line with a number in it is data, not a header.
            ("mixed.csv", "1,abc\n2,3\n", " line 1, column 2: 'abc' is not a number"),
        ]
        for c in cases {
            let path = try writeText(c.name, c.text)
            assertLoadError(path, path + c.error)
        }
    }

    /// Files that `np.loadtxt(path, delimiter=",")` cannot read (or, for an empty file, only warns
    /// about) are errors, never an empty tensor.
    func testCSVWithoutRowsOfNumbersIsAnError() throws {
        let spaces = try writeText("spaces.csv", "1 2 3\n4 5 6\n")
        assertLoadError(spaces, "\(spaces) line 1, column 1: '1 2 3' is not a number (numbers are separated by commas)")
        let semicolons = try writeText("semicolons.csv", "1;2\n")
        assertLoadError(semicolons, "\(semicolons) line 1, column 1: '1;2' is not a number (numbers are separated by commas)")
        let tabs = try writeText("tabs.txt", "# t\n1\t2\n")
        assertLoadError(tabs, "\(tabs) line 2, column 1: '1\t2' is not a number (numbers are separated by commas)")
        let afterHeader = try writeText("after.csv", "x;y\n1;2\n")
        assertLoadError(afterHeader, "\(afterHeader) line 2, column 1: '1;2' is not a number (numbers are separated by commas)")
        for (name, text) in [("empty.csv", ""), ("blank.csv", "\n \n"), ("comments.csv", "# only\n# comments\n"),
                             ("header.csv", "x,y,z\n"), ("header-comments.csv", "x,y\n# none\n\n")] {
            let file = try writeText(name, text)
            assertLoadError(file, "\(file): no rows of numbers")
        }
    }

    // MARK: - Writing CSV

    /// `save` writes CSV for a `.csv` path (any case) and `.npy` for any other.
    func testSaveChoosesTheFormatByExtension() throws {
        let t = Tensor(vector: [1, 2.5])
        for name in ["a.csv", "b.CSV"] {
            try t.save(path: path(name))
            XCTAssertEqual(try String(contentsOfFile: path(name), encoding: .utf8), "1\n2.5\n", name)
        }
        for name in ["c.npy", "d.txt", "e.dat", "f"] {
            try t.save(path: path(name))
            XCTAssertTrue(try Data(contentsOf: URL(fileURLWithPath: path(name))).starts(with: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]), name)
            XCTAssertEqual(try Tensor.load(path: path(name)), t, name)
        }
    }

    /// The exact text: shortest digits, no `.0` on integral values, a vector as one column.
    func testSaveCSVText() throws {
        try Tensor(shape: [2, 3], scalars: [0.1, -2, 1e-300, .nan, .infinity, -.infinity]).saveCSV(path: path("m.csv"))
        XCTAssertEqual(try String(contentsOfFile: path("m.csv"), encoding: .utf8), "0.1,-2,1e-300\nnan,inf,-inf\n")
        try Tensor(vector: [1.0 / 3, -0.0, 1e16]).saveCSV(path: path("v.csv"))
        XCTAssertEqual(try String(contentsOfFile: path("v.csv"), encoding: .utf8), "0.3333333333333333\n-0\n1e+16\n")
        try Tensor(42).saveCSV(path: path("s.csv"))
        XCTAssertEqual(try String(contentsOfFile: path("s.csv"), encoding: .utf8), "42\n")
    }

    func testSaveCSVRefusesWhatCSVCannotHold() throws {
        let cube = path("cube.csv")
        XCTAssertThrowsError(try Tensor(shape: [2, 2, 2], scalars: Array(repeating: 1, count: 8)).save(path: cube)) { error in
            XCTAssertEqual((error as? TensorError)?.message,
                           "\(cube): a CSV file holds a scalar, a vector or a matrix, not a tensor of shape [2, 2, 2] (save it as .npy)")
        }
        let empty = path("empty.csv")
        XCTAssertThrowsError(try Tensor(shape: [3, 0], scalars: []).save(path: empty)) { error in
            XCTAssertEqual((error as? TensorError)?.message,
                           "\(empty): a CSV file cannot hold a tensor of shape [3, 0], which has no elements (save it as .npy)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: cube))
        XCTAssertFalse(FileManager.default.fileExists(atPath: empty))
        let bad = path("no-such-dir/w.csv")
        XCTAssertThrowsError(try Tensor(1).save(path: bad)) { error in
            XCTAssertEqual((error as? TensorError)?.message, "\(bad): cannot write: no such file")
        }
    }

    /// `load` and `np.loadtxt(path, delimiter=",")` read back the same float64 values, bit for bit, with
    /// the shapes of `np.loadtxt`.
    func testCSVRoundTripsExactly() throws {
        var generator = SystemRandomNumberGenerator()
        let awkward: [Double] = [0.1, 1.0 / 3, -0.0, .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude,
                                 -.greatestFiniteMagnitude, 1e16, 123456789012345680, 2.5e-7, .nan, .infinity, -.infinity]
        let random = (0..<40).map { _ in Double(bitPattern: UInt64.random(in: 0..<0x7FF0_0000_0000_0000, using: &generator)) * (Bool.random() ? 1 : -1) }
        let cases: [(String, Tensor, [Int])] = [
            ("matrix", Tensor(shape: [13, 4], scalars: awkward + random[0..<39]), [13, 4]),
            ("vector", Tensor(vector: awkward), [13]),
            ("scalar", Tensor(0.1), []),
            ("row", Tensor(shape: [1, 3], scalars: [1, 2, 3]), [3]),
            ("column", Tensor(shape: [3, 1], scalars: [1, 2, 3]), [3]),
            ("one", Tensor(vector: [5]), []),
        ]
        var arguments: [String] = []
        for (name, tensor, loadedShape) in cases {
            try tensor.saveCSV(path: path(name + ".csv"))
            assertIdentical(try Tensor.load(path: path(name + ".csv")), Tensor(shape: loadedShape, scalars: tensor.scalars), name)
            arguments.append("\(name)|" + loadedShape.map(String.init).joined(separator: ",") + "|" + tensor.scalars.map { hexFloat($0) }.joined(separator: " "))
        }
        let report = try python(#"""
        import sys
        for arg in sys.argv[1:]:
            name, shape, values = arg.split("|")
            shape = tuple(int(d) for d in shape.split(",")) if shape else ()
            expected = np.array([float.fromhex(v) for v in values.split()], dtype=np.float64).reshape(shape)
            got = np.loadtxt(f"{name}.csv", delimiter=",")
            assert got.shape == shape, (name, got.shape, shape)
            assert np.array_equal(got, expected, equal_nan=True), name
            assert np.all(np.signbit(got) == np.signbit(expected)), name
            print("ok", name)
        """#, arguments: arguments)
        XCTAssertEqual(report.split(separator: "\n").count, cases.count, report)
    }

    func testCSVElementLimit() throws {
        let saved = Shape.elementLimit
        defer { Shape.elementLimit = saved }
        Shape.elementLimit = 5
        let p = try writeText("big.csv", "1,2\n3,4\n5,6\n")
        XCTAssertThrowsError(try Tensor.load(path: p)) { error in
            XCTAssertEqual((error as? TensorError)?.message, "\(p): a tensor of shape [3, 2] has more than 5 elements (the limit)")
        }
    }

    private func hexFloat(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        return String(format: "%a", value)
    }
}
