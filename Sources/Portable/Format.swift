import Glibc

extension String {
    /// printf-style formatting through the C library's `vsnprintf`: `String(cFormat: "%.2f ms", x)`.
    ///
    /// Gives the same text as Foundation's `String(format:)` for the conversions this project uses
    /// (`%d`, `%x`, `%f`, `%e`, `%g` with flags, widths and precisions, and `%%`): Foundation hands
    /// those to the C library too. `%@` and the other Objective-C conversions are not supported. As
    /// with Foundation, `%d` reads a 32-bit `int`: pass `Int32` or use `%ld` for larger values.
    public init(cFormat format: String, _ arguments: CVarArg...) {
        self = CFormat.render(format, arguments)
    }
}

enum CFormat {
    static func render(_ format: String, _ arguments: [CVarArg]) -> String {
        // Most results are a number or two: one call into a stack buffer.
        let fitted: String? = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 128) { buffer in
            let count = withVaList(arguments) { vsnprintf(buffer.baseAddress, buffer.count, format, $0) }
            guard count >= 0, Int(count) < buffer.count else { return count < 0 ? "" : nil }
            return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: Int(count)), as: UTF8.self)
        }
        if let fitted { return fitted }
        let size = Int(withVaList(arguments) { vsnprintf(nil, 0, format, $0) }) + 1
        var bytes = [CChar](repeating: 0, count: size)
        let count = withVaList(arguments) { vsnprintf(&bytes, size, format, $0) }
        return String(decoding: bytes.prefix(Int(max(count, 0))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
