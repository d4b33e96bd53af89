/// Expressions, one function per precedence level, lowest first: comparisons (`== != <= >=`, and `< >`
/// inside parentheses and brackets, where no block can open), `+ -`, `* / @ % //`, unary `- +`,
/// `^ **` (right-associative, right operand may be unary), postfix.
extension Parser {
    /// Whether `token` can begin an expression (keywords count: the primary then says why not).
    func canStartExpression(_ token: Token) -> Bool {
        switch token.kind {
        case .number, .name, .string, .keyword: return true
        case .symbol(let symbol): return symbol == "(" || symbol == "[" || symbol == "-" || symbol == "+"
        case .newline, .end: return false
        }
    }

    /// An expression that must follow `context`, e.g. "expected an expression after '+'".
    mutating func parseExpression(after context: String) throws -> Expr {
        let token = try peek()
        guard canStartExpression(token) else { throw failure(SyntaxMessage.expectedExpression(after: context), at: token) }
        return try parseExpression()
    }

    /// A comparison, or an additive expression. Comparisons do not chain (`a < b < c` is an error).
    mutating func parseExpression() throws -> Expr {
        let left = try parseAdditive()
        guard let op = try comparisonOperator() else { return left }
        let token = try advance()
        try link(at: token)
        defer { chainLinks -= 1 }
        let right = try parseOperand(after: token) { try $0.parseAdditive() }
        if let chained = try comparisonOperator() {
            throw failure(SyntaxMessage.chainedComparison(token.text, chained.rawValue), at: try peek())
        }
        return Expr(kind: .binary(op, left, right), span: left.span.union(right.span))
    }

    /// The comparison the next token spells: `< >` compare only inside parentheses and brackets.
    private mutating func comparisonOperator() throws -> BinaryOperator? {
        guard case .symbol(let symbol) = try peek().kind else { return nil }
        // NOTE: a switch over the spellings, not `BinaryOperator(rawValue:)`, which searches a table of
        // strings at every call (after every operand).
        switch symbol {
        case "==": return .equal
        case "!=": return .notEqual
        case "<=": return .lessEqual
        case ">=": return .greaterEqual
        case "<": return newlinesAreSpaces.last == true ? .less : nil
        case ">": return newlinesAreSpaces.last == true ? .greater : nil
        default: return nil
        }
    }

    private mutating func parseAdditive() throws -> Expr {
        var left = try parseMultiplicative()
        var links = 0
        defer { chainLinks -= links }
        while true {
            let token = try peek()
            guard token.isSymbol("+") || token.isSymbol("-") else { return left }
            try advance()
            try link(at: token)
            links += 1
            let right = try parseOperand(after: token) { try $0.parseMultiplicative() }
            left = Expr(kind: .binary(token.isSymbol("+") ? .add : .subtract, left, right), span: left.span.union(right.span))
        }
    }

    private mutating func parseMultiplicative() throws -> Expr {
        var left = try parseUnary()
        var links = 0
        defer { chainLinks -= links }
        while true {
            let token = try peek()
            let op: BinaryOperator
            switch token.kind {
            case .symbol("*"): op = .multiply
            case .symbol("/"): op = .divide
            case .symbol("@"): op = .matmul
            case .symbol("%"): op = .modulo
            case .symbol("//"): op = .floorDivide
            default: return left
            }
            try advance()
            try link(at: token)
            links += 1
            let right = try parseOperand(after: token) { try $0.parseUnary() }
            left = Expr(kind: .binary(op, left, right), span: left.span.union(right.span))
        }
    }

    private mutating func parseOperand(after op: Token, _ parse: (inout Parser) throws -> Expr) throws -> Expr {
        let token = try peek()
        guard canStartExpression(token) else { throw failure(SyntaxMessage.expectedExpression(after: op.text), at: token) }
        return try parse(&self)
    }

    private mutating func parseUnary() throws -> Expr {
        let token = try peek()
        guard token.isSymbol("-") || token.isSymbol("+") else { return try parsePower() }
        try advance()
        try descend(at: token)
        defer { depth -= 1 }
        let operand = try parseOperand(after: token) { try $0.parseUnary() }
        return Expr(kind: .unary(token.isSymbol("-") ? .negate : .plus, operand), span: token.span.union(operand.span))
    }

    private mutating func parsePower() throws -> Expr {
        let base = try parsePostfix()
        let token = try peek()
        guard token.isSymbol("^") || token.isSymbol("**") else { return base }
        try advance()
        try descend(at: token)
        defer { depth -= 1 }
        let exponent = try parseOperand(after: token) { try $0.parseUnary() }
        return Expr(kind: .binary(.power, base, exponent), span: base.span.union(exponent.span))
    }

    private mutating func parsePostfix() throws -> Expr {
        var expression = try parsePrimary()
        var links = 0
        defer { chainLinks -= links }
        while true {
            let token = try peek()
            if token.isSymbol("(") || token.isSymbol("[") || token.isSymbol(".") {
                try link(at: token)
                links += 1
            }
            if token.isSymbol("(") {
                guard case .name(let name) = expression.kind else {
                    throw failure(SyntaxMessage.onlyNamesCanBeCalled, at: token)
                }
                let arguments = try parseArguments()
                expression = Expr(kind: .call(name: name, arguments: arguments), span: expression.span.union(span(from: token)))
            } else if token.isSymbol("[") {
                let items = try parseSubscript()
                expression = Expr(kind: .index(expression, items), span: expression.span.union(span(from: token)))
            } else if token.isSymbol(".") {
                try advance()
                let member = try peek()
                guard member.kind == .name("T") else { throw failure(SyntaxMessage.expectedTransposeAfterDot, at: member) }
                try advance()
                expression = Expr(kind: .transpose(expression), span: expression.span.union(member.span))
            } else {
                return expression
            }
        }
    }

    /// `(a, b, axis=0)`
    private mutating func parseArguments() throws -> [Argument] {
        let opener = try advance()
        try open(opener)
        var arguments: [Argument] = []
        if try peek().isSymbol(")") {
            try close(")", opener: opener)
            return arguments
        }
        var previous = opener
        while true {
            let value = try parseExpression(after: previous.text)
            if case .name(let label) = value.kind, try peek().isSymbol("=") {
                let equal = try advance()
                let labelled = try parseExpression(after: equal.text)
                arguments.append(Argument(label: Identifier(name: label, span: value.span), value: labelled))
            } else {
                if arguments.last?.label != nil {
                    throw SyntaxError(message: SyntaxMessage.positionalAfterKeyword, span: value.span)
                }
                arguments.append(Argument(label: nil, value: value))
            }
            guard let comma = try consume(symbol: ",") else { break }
            previous = comma
        }
        try close(")", opener: opener)
        return arguments
    }

    /// `[1, 2:3, ::-1, [0, 0, 2]]` after an expression.
    private mutating func parseSubscript() throws -> [IndexItem] {
        let opener = try advance()
        try open(opener)
        var items: [IndexItem] = []
        repeat {
            items.append(try parseIndexItem())
        } while try consume(symbol: ",") != nil
        try close("]", opener: opener)
        return items
    }

    private mutating func parseIndexItem() throws -> IndexItem {
        let first = try peek()
        func endsPart(_ token: Token) -> Bool {
            token.isSymbol(":") || token.isSymbol(",") || token.isSymbol("]") || !canStartExpression(token)
        }
        let start = endsPart(first) ? nil : try parseExpression()
        guard try peek().isSymbol(":") else {
            guard let start else { throw failure(SyntaxMessage.expectedIndex, at: first) }
            return IndexItem(kind: .single(start), span: start.span)
        }
        try advance()
        let stop = endsPart(try peek()) ? nil : try parseExpression()
        var step: Expr?
        if try consume(symbol: ":") != nil {
            step = endsPart(try peek()) ? nil : try parseExpression()
        }
        return IndexItem(kind: .slice(start: start, stop: stop, step: step), span: span(from: first))
    }

    private mutating func parsePrimary() throws -> Expr {
        let token = try peek()
        switch token.kind {
        case .number(let value):
            try advance()
            return Expr(kind: .number(value), span: token.span)
        case .name(let name):
            try advance()
            return Expr(kind: .name(name), span: token.span)
        case .string(let text):
            try advance()
            return Expr(kind: .string(text), span: token.span)
        case .keyword(let keyword):
            switch keyword {
            case .grad, .jacobian, .batch_jacobian, .hessian, .jvp:
                let gradient = try parseGradient()
                return Expr(kind: .gradient(gradient), span: span(from: token))
            default:
                throw failure(SyntaxMessage.keywordUsedAsName(keyword.rawValue), at: token)
            }
        case .symbol("("):
            return try parseGroup()
        case .symbol("["):
            return try parseTensorLiteral()
        default:
            throw failure(SyntaxMessage.unexpected(token.quoted), at: token)
        }
    }

    /// `( expr )`; the span includes the parentheses. `(a, b)` and `(x,)` are groups (a comma makes one).
    private mutating func parseGroup() throws -> Expr {
        let opener = try advance()
        try open(opener)
        let inner = try parseExpression(after: "(")
        guard try peek().isSymbol(",") else {
            try close(")", opener: opener)
            return Expr(kind: inner.kind, span: span(from: opener))
        }
        var members = [inner]
        while let comma = try consume(symbol: ",") {
            if try peek().isSymbol(")") { break }
            members.append(try parseExpression(after: comma.text))
        }
        try close(")", opener: opener)
        return Expr(kind: .group(members), span: span(from: opener))
    }

    /// `[e1, e2, …]`, `[]`; a trailing comma is allowed.
    private mutating func parseTensorLiteral() throws -> Expr {
        let opener = try advance()
        try open(opener)
        var elements: [Expr] = []
        while !(try peek().isSymbol("]")) {
            elements.append(try parseExpression(after: elements.isEmpty ? "[" : ","))
            if try consume(symbol: ",") == nil { break }
        }
        try close("]", opener: opener)
        return Expr(kind: .tensor(elements), span: span(from: opener))
    }

    /// `grad Y wrt X1, X2 [seed S] [unconnected zero] [using t]`, `jvp Y wrt X along V`, …
    /// The target stops at `wrt`, so `grad grad y wrt x wrt x` nests; a source list takes
    /// every `, name` that follows, so write `f((grad y wrt x), z)` to pass another argument.
    mutating func parseGradient() throws -> Gradient {
        let keywordToken = try advance()
        guard case .keyword(let keyword) = keywordToken.kind, let kind = GradientKind(rawValue: keyword.rawValue) else {
            throw failure(SyntaxMessage.unexpected(keywordToken.quoted), at: keywordToken)
        }
        try descend(at: keywordToken)
        defer { depth -= 1 }
        let target = try parseExpression(after: keywordToken.text)
        let wrt = try peek()
        guard wrt.isKeyword(.wrt) else { throw failure(SyntaxMessage.expectedWrt(keywordToken.text), at: wrt) }
        try advance()
        var gradient = Gradient(kind: kind, target: target, sources: [try expectName(after: "wrt")])
        while try peek().isSymbol(","), case .name = try peekSecond().kind {
            try advance()
            gradient.sources.append(try expectName(after: ","))
        }
        // NOTE: an array, not a Set: the first Set<Keyword> of a process costs a search of every protocol
        // conformance in the binary (about 0.1 ms on each run of a file).
        var seen: [Keyword] = []
        while true {
            let option = try peek()
            guard case .keyword(let optionKeyword) = option.kind,
                  [.seed, .unconnected, .using, .along].contains(optionKeyword) else { break }
            let allowed: Bool
            switch optionKeyword {
            case .seed: allowed = kind == .grad
            case .unconnected: allowed = [.grad, .jacobian, .batchJacobian].contains(kind)
            case .using: allowed = kind != .jvp
            default: allowed = kind == .jvp
            }
            guard allowed else { throw failure(SyntaxMessage.optionNotAllowed(option.text, in: keywordToken.text), at: option) }
            guard !seen.contains(optionKeyword) else { throw failure(SyntaxMessage.optionGivenTwice(option.text), at: option) }
            seen.append(optionKeyword)
            try advance()
            switch optionKeyword {
            case .seed: gradient.seed = try parseExpression(after: "seed")
            case .along: gradient.tangent = try parseExpression(after: "along")
            case .using: gradient.tape = try expectName(after: "using")
            default:
                let zero = try peek()
                guard zero.kind == .name("zero") else { throw failure(SyntaxMessage.expectedZeroAfterUnconnected, at: zero) }
                try advance()
                gradient.unconnectedZero = true
            }
        }
        if kind == .jvp && gradient.tangent == nil {
            throw failure(SyntaxMessage.jvpNeedsAlong, at: try peek())
        }
        return gradient
    }
}
