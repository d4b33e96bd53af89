/// The reserved words of the language (spec §2). None of them can be used as a name.
public enum Keyword: String, CaseIterable, Sendable {
    case watch, `var`, grad, jacobian, batch_jacobian, hessian, jvp, wrt, along, seed, unconnected,
         using, with, stop, tape, persistent, nowatch, on, custom, `repeat`, `as`, explain, graph,
         check, plot, over, `in`, to, and, save, show
}

enum TokenKind: Equatable {
    case number(Double)
    case name(String)
    case keyword(Keyword)
    case string(String)
    /// An operator or punctuation: `+ - * / @ ^ ** = += -= , ; : ( ) [ ] < > . ..`
    case symbol(String)
    case newline
    case end
}

/// A token. NOTE: a class on purpose: the parser's recursive functions hold many token
/// temporaries, and as references they keep debug-build stack frames small enough for
/// 256 levels of nesting on a secondary thread.
final class Token {
    let kind: TokenKind
    let span: SourceSpan
    /// The source text of the token.
    let text: String
    /// Where the token starts, to restart the lexer there.
    let start: Cursor

    init(kind: TokenKind, span: SourceSpan, text: String, start: Cursor) {
        self.kind = kind
        self.span = span
        self.text = text
        self.start = start
    }

    func isSymbol(_ symbol: String) -> Bool { kind == .symbol(symbol) }
    func isKeyword(_ keyword: Keyword) -> Bool { kind == .keyword(keyword) }

    /// How a message names this token: `'+'`, `end of line`, `end of input`.
    var quoted: String {
        switch kind {
        case .newline: return "end of line"
        case .end: return "end of input"
        default: return "'\(text)'"
        }
    }
}
