/// The reserved words of the language (spec §2). None of them can be used as a name.
public enum Keyword: String, CaseIterable, Sendable {
    case watch, `var`, grad, jacobian, batch_jacobian, hessian, jvp, wrt, along, seed, unconnected,
         using, with, stop, tape, persistent, nowatch, on, custom, `repeat`, `as`, explain, graph,
         check, plot, over, `in`, to, and, save, show, `if`, elif, `else`, `while`, print, apply

    /// The keyword spelled `word`, if any.
    // NOTE: a switch on the first byte, then on the word: `init(rawValue:)` builds a table of every spelling on
    // first use (about 0.1 ms a run), and one switch over all the words compares a name with each of them.
    public static func named(_ word: String) -> Keyword? {
        guard let first = word.utf8.first else { return nil }
        switch first {
        case UInt8(ascii: "a"):
            switch word {
            case "along": return .along
            case "as": return .as
            case "and": return .and
            case "apply": return .apply
            default: return nil
            }
        case UInt8(ascii: "b"):
            switch word {
            case "batch_jacobian": return .batch_jacobian
            default: return nil
            }
        case UInt8(ascii: "c"):
            switch word {
            case "custom": return .custom
            case "check": return .check
            default: return nil
            }
        case UInt8(ascii: "e"):
            switch word {
            case "explain": return .explain
            case "elif": return .elif
            case "else": return .else
            default: return nil
            }
        case UInt8(ascii: "g"):
            switch word {
            case "grad": return .grad
            case "graph": return .graph
            default: return nil
            }
        case UInt8(ascii: "h"):
            switch word {
            case "hessian": return .hessian
            default: return nil
            }
        case UInt8(ascii: "i"):
            switch word {
            case "in": return .in
            case "if": return .if
            default: return nil
            }
        case UInt8(ascii: "j"):
            switch word {
            case "jacobian": return .jacobian
            case "jvp": return .jvp
            default: return nil
            }
        case UInt8(ascii: "n"):
            switch word {
            case "nowatch": return .nowatch
            default: return nil
            }
        case UInt8(ascii: "o"):
            switch word {
            case "on": return .on
            case "over": return .over
            default: return nil
            }
        case UInt8(ascii: "p"):
            switch word {
            case "persistent": return .persistent
            case "plot": return .plot
            case "print": return .print
            default: return nil
            }
        case UInt8(ascii: "r"):
            switch word {
            case "repeat": return .repeat
            default: return nil
            }
        case UInt8(ascii: "s"):
            switch word {
            case "seed": return .seed
            case "stop": return .stop
            case "save": return .save
            case "show": return .show
            default: return nil
            }
        case UInt8(ascii: "t"):
            switch word {
            case "tape": return .tape
            case "to": return .to
            default: return nil
            }
        case UInt8(ascii: "u"):
            switch word {
            case "unconnected": return .unconnected
            case "using": return .using
            default: return nil
            }
        case UInt8(ascii: "v"):
            switch word {
            case "var": return .var
            default: return nil
            }
        case UInt8(ascii: "w"):
            switch word {
            case "watch": return .watch
            case "wrt": return .wrt
            case "with": return .with
            case "while": return .while
            default: return nil
            }
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
    /// The source text of a number, a string literal or a line break; other tokens spell theirs in `kind`.
    // NOTE: a name, keyword or symbol does not keep a second copy of its text: a `String` made for every
    // token was a tenth of parsing.
    private let literal: String
    /// Where the token starts, to restart the lexer there.
    let start: Cursor

    init(kind: TokenKind, span: SourceSpan, literal: String = "", start: Cursor) {
        self.kind = kind
        self.span = span
        self.literal = literal
        self.start = start
    }

    /// The source text of the token.
    var text: String {
        switch kind {
        case .name(let name): return name
        case .keyword(let keyword): return keyword.rawValue
        case .symbol(let symbol): return symbol
        case .number, .string, .newline, .end: return literal
        }
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
