/// A syntax error: what was expected, and where.
public struct SyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public var span: SourceSpan
    /// True when the input ended while a `(`, `[` or `<` was open, or while a statement
    /// (`with stop`, `repeat 3`, `custom f(x) = …`) waited for its block or its `grad` part:
    /// a REPL should read a continuation line and parse again.
    public var isIncomplete: Bool
    /// Where the statement that failed began (the parser sets it), so that a report can show the statement
    /// from its first line when the fault is lines later (a block left open at the end of a file).
    public var statementStart: SourceLocation?

    public init(message: String, span: SourceSpan, isIncomplete: Bool = false) {
        self.message = message
        self.span = span
        self.isIncomplete = isIncomplete
    }

    public var description: String { "\(span.start): error: \(message)" }
}

/// Every message text the lexer and parser produce, in one place so tests can assert them.
public enum SyntaxMessage {
    public static let nestedTooDeeply = "expression is nested too deeply (more than \(Parser.maximumNestingDepth) levels)"
    public static let expressionTooTall = "expression is too long: more than \(Parser.maximumExpressionHeight) operations inside one another; split it into several statements"
    public static func lineTooLong(bytes: Int) -> String {
        "this line is \(bytes >> 20) MiB long, more than tapebook reads (\(Parser.maximumLineBytes >> 20) MiB): " +
            "put data in a .npy or .csv file and load it; nothing after this line was read"
    }
    public static let unterminatedString = "unterminated string: expected '\"' before the end of the line"
    public static let positionalAfterKeyword = "a positional argument cannot follow a keyword argument"
    public static let onlyNamesCanBeCalled = "only a function name can be called"
    public static let expectedMetaCommandName = "expected a command name after ':'"
    public static let expectedIndex = "expected an index or a slice"

    public static func duplicateParameter(_ name: String) -> String { "parameter '\(name)' is named twice" }
    public static func unexpectedCharacter(_ character: Character) -> String {
        let scalars = character.unicodeScalars.map { "U+" + String($0.value, radix: 16, uppercase: true) }
        // Invisible characters (spaces, controls, and format characters such as U+200B or a byte-order mark)
        // are named by their code point.
        let shown = character.unicodeScalars.allSatisfy {
            $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F || $0.properties.generalCategory == .format
        }
            ? scalars.joined(separator: " ") : "'\(character)'"
        return "unexpected character \(shown)"
    }
    public static func unexpected(_ token: String) -> String {
        // NOTE: `<` and `>` delimit blocks; they compare only where no block can open.
        if token == "'>'" || token == "'<'" {
            return "unexpected \(token): `<` and `>` compare only inside parentheses or brackets, as in (a \(token.dropFirst().dropLast()) b); `<=`, `>=`, `==` and `!=` compare anywhere"
        }
        return "unexpected \(token)"
    }
    public static func expectedExpression(after context: String) -> String { "expected an expression after '\(context)'" }
    public static func expectedName(after context: String) -> String { "expected a name after '\(context)'" }
    public static func keywordUsedAsName(_ keyword: String) -> String { "'\(keyword)' is a keyword and cannot be used as a name" }
    public static func expectedClosing(_ closer: String, opener: String, at location: SourceLocation) -> String {
        "expected '\(closer)' to close '\(opener)' at \(location)"
    }
    public static func expected(_ what: String, after context: String) -> String { "expected '\(what)' after '\(context)'" }
    public static func expectedWrt(_ gradientKeyword: String) -> String {
        "expected 'wrt' after the expression to differentiate in '\(gradientKeyword)'"
    }
    public static func expectedBlock(after context: String) -> String { "expected '<' to open the block of '\(context)'" }
    public static func optionGivenTwice(_ option: String) -> String { "'\(option)' is given twice" }
    public static func optionNotAllowed(_ option: String, in gradientKeyword: String) -> String {
        "'\(option)' cannot be used with '\(gradientKeyword)'"
    }
    public static let jvpNeedsAlong = "expected 'along' and a direction after the sources of 'jvp'"
    public static let expectedZeroAfterUnconnected = "expected 'zero' after 'unconnected'"
    public static let expectedStopOrTape = "expected 'stop' or 'tape' after 'with'"
    public static let expectedTransposeAfterDot = "expected 'T' after '.'"
    public static func expectedFileName(after context: String) -> String { "expected a file name in double quotes after '\(context)'" }
    public static func expectedCustomGradient(_ name: String) -> String { "expected 'grad(dy) = …' after the body of custom function '\(name)'" }
    public static let cannotAssign = "only a name or a subscript of a name can be assigned to (use 'name = …', 'x[i] = …' or 'f(x) = …')"
    public static let expectedParameterName = "expected a parameter name: a function definition takes names, as in 'f(x, y) = …'"
    public static let expectedNamesBeforeEqual = "only names can be assigned to, as in 'a, b = …'"
    public static func branchWithoutIf(_ keyword: String) -> String {
        "'\(keyword)' must follow the closing '>' of an 'if' block, on the same line"
    }
    public static func chainedComparison(_ first: String, _ second: String) -> String {
        "comparisons do not chain: '\(first)' then '\(second)'; compare twice and multiply, as in (a < b) * (b < c)"
    }
    public static func expectedGradAfter(_ keyword: String) -> String { "expected 'grad' after '\(keyword)'" }
    public static let expectedWithGradients = "expected 'with' and the gradients after the variables of 'apply', as in 'apply opt to w, b with gw, gb'"
    public static let expectedDotDot = "expected '..' between the bounds of the plot range, as in 'over x in -1..1'"
}
