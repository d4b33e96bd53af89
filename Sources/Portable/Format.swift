import Glibc
import CPortable

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

    /// `String(cFormat:_:)` for a format with one `double` conversion (`%.3f`, `%.1e`), without CVarArg.
    public init(cFormat format: String, _ value: Double) {
        self = CFormat.render { tapebook_format_double($0, $1, format, value) }
    }
}

enum CFormat {
    static func render(_ format: String, _ arguments: [CVarArg]) -> String {
        render { buffer, size in withVaList(arguments) { vsnprintf(buffer, size, format, $0) } }
    }

    /// The text a `snprintf`-like `print(buffer, size)` writes, however long.
    static func render(_ print: (UnsafeMutablePointer<CChar>?, Int) -> Int32) -> String {
        // Most results are a number or two: one call into a stack buffer.
        let fitted: String? = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 128) { buffer in
            let count = print(buffer.baseAddress, buffer.count)
            guard count >= 0, Int(count) < buffer.count else { return count < 0 ? "" : nil }
            return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: Int(count)), as: UTF8.self)
        }
        if let fitted { return fitted }
        let size = Int(print(nil, 0)) + 1
        var bytes = [CChar](repeating: 0, count: size)
        let count = bytes.withUnsafeMutableBufferPointer { print($0.baseAddress, size) }
        return String(decoding: bytes.prefix(Int(max(count, 0))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A number as a message quotes it: a whole number without a point (`3`, not `3.0`), anything else in
/// the shortest form that reads back (`0.1`, `1e+20`).
public func plainNumber(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
    return "\(value)"
}
