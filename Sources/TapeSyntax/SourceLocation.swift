/// A position in source text.
///
/// `offset` counts UTF-8 bytes from the start of the parsed string, so `source.utf8` can be
/// sliced with it; `line` and `column` are 1-based, and `column` counts Characters
/// (grapheme clusters), so `θ` is one column.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    /// UTF-8 byte offset from the start of the parsed source.
    public var offset: Int
    /// 1-based line number (shifted by the parser's `firstLine`).
    public var line: Int
    /// 1-based column, in Characters.
    public var column: Int

    public init(offset: Int, line: Int, column: Int) {
        self.offset = offset
        self.line = line
        self.column = column
    }

    /// `line:column`, as used in diagnostics.
    public var description: String { "\(line):\(column)" }
}

/// A half-open range of source text: `end` is the location just past the last character.
public struct SourceSpan: Hashable, Sendable, CustomStringConvertible {
    public var start: SourceLocation
    public var end: SourceLocation

    public init(start: SourceLocation, end: SourceLocation) {
        self.start = start
        self.end = end
    }

    /// An empty span at `location`.
    public init(at location: SourceLocation) {
        self.init(start: location, end: location)
    }

    /// The smallest span covering both spans.
    public func union(_ other: SourceSpan) -> SourceSpan {
        SourceSpan(start: start.offset <= other.start.offset ? start : other.start,
                   end: end.offset >= other.end.offset ? end : other.end)
    }

    public var description: String { "\(start)-\(end)" }
}
