/// The reserved words of the language (spec §2). None of them can be used as a name.
public enum Keyword: String, CaseIterable, Sendable {
    case watch, `var`, grad, jacobian, batch_jacobian, hessian, jvp, wrt, along, seed, unconnected,
         using, with, stop, tape, persistent, nowatch, on, custom, `repeat`, `as`, explain, graph,
         check, plot, over, `in`, to, and, save, show, `if`, elif, `else`, `while`, print, apply

    /// The keyword spelled `word`, if any.
    // NOTE: a plain switch: `init(rawValue:)` builds a table of every spelling on first use, which cost each
    // run of a file about 0.1 ms.
    public static func named(_ word: String) -> Keyword? {
        switch word {
        case "watch": return .watch
        case "var": return .var
        case "grad": return .grad
        case "jacobian": return .jacobian
        case "batch_jacobian": return .batch_jacobian
        case "hessian": return .hessian
        case "jvp": return .jvp
        case "wrt": return .wrt
        case "along": return .along
        case "seed": return .seed
        case "unconnected": return .unconnected
        case "using": return .using
        case "with": return .with
        case "stop": return .stop
        case "tape": return .tape
        case "persistent": return .persistent
        case "nowatch": return .nowatch
        case "on": return .on
        case "custom": return .custom
        case "repeat": return .repeat
        case "as": return .as
        case "explain": return .explain
        case "graph": return .graph
        case "check": return .check
        case "plot": return .plot
        case "over": return .over
        case "in": return .in
        case "to": return .to
        case "and": return .and
        case "save": return .save
        case "show": return .show
        case "if": return .if
        case "elif": return .elif
        case "else": return .else
        case "while": return .while
        case "print": return .print
        case "apply": return .apply
        default: return nil
        }
    }
}

enum TokenKind: Equatable {
    case number(Double)
    case name(String)
    case keyword(Keyword)
    case string(String)
    /// An operator or punctuation: `+ - * / @ ^ ** % // = += -= *= /= == != <= >= , ; : ( ) [ ] < > . ..`
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
