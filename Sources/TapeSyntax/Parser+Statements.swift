extension Parser {
    /// Consumes what ends a statement: `;` (silencing it), a newline, the end, or (in a block) `>`.
    mutating func finish(_ statement: inout Statement, insideBlock: Bool) throws {
        let token = try peek()
        if token.isSymbol(";") {
            try advance()
            statement.silenced = true
        } else if token.kind == .newline {
            try advance()
        } else if token.kind == .end || (insideBlock && token.isSymbol(">")) {
            return
        } else {
            throw failure(SyntaxMessage.unexpected(token.quoted), at: token)
        }
    }

    // NOTE: blocks recurse through parseStatement, so it stays a small dispatcher: each
    // statement form has its own function and the recursive frames stay small.
    mutating func parseStatement() throws -> Statement {
        let first = try peek()
        if first.isSymbol(":") && newlinesAreSpaces.isEmpty { return try parseMeta() }
        guard case .keyword(let keyword) = first.kind else { return try parseExpressionStatement() }
        let kind: StatementKind
        switch keyword {
        case .watch: kind = try parseWatch()
        case .var: kind = try parseVariableDeclaration()
        case .custom: kind = try parseCustomFunction()
        case .with: kind = try parseWith()
        case .tape: kind = try parseTape()
        case .repeat: kind = try parseRepeat()
        case .if: kind = try parseConditional()
        case .while: kind = try parseWhile()
        case .print: kind = try parsePrint()
        case .elif, .else: throw failure(SyntaxMessage.branchWithoutIf(keyword.rawValue), at: first)
        case .save: kind = try parseSave()
        case .explain, .check: kind = try parseExplainOrCheck(keyword: first)
        case .graph: kind = try parseGraph()
        case .plot: kind = try parsePlot()
        case .apply: kind = try parseApply()
        default: return try parseExpressionStatement()
        }
        return Statement(kind: kind, span: span(from: first))
    }

    /// `watch x, y [on t]`
    private mutating func parseWatch() throws -> StatementKind {
        try advance()
        var names = [try expectName(after: "watch")]
        while try consume(symbol: ",") != nil { names.append(try expectName(after: ",")) }
        let tape = try consume(keyword: .on) != nil ? try expectName(after: "on") : nil
        return .watch(names: names, tape: tape)
    }

    /// `var w = expr`
    private mutating func parseVariableDeclaration() throws -> StatementKind {
        try advance()
        let name = try expectName(after: "var")
        try expect(symbol: "=", after: "var \(name.name)")
        return .variableDeclaration(name: name, value: try parseExpression(after: "="))
    }

    /// `with stop [t] < … >`, `with tape t [persistent] [nowatch] < … >`
    private mutating func parseWith() throws -> StatementKind {
        try advance()
        if try consume(keyword: .stop) != nil {
            var tape: Identifier?
            switch try peek().kind {
            case .name, .keyword: tape = try expectName(after: "stop")
            default: tape = nil
            }
            return .withStop(tape: tape, body: try parseBlock(after: "with stop"))
        }
        guard try consume(keyword: .tape) != nil else {
            throw failure(SyntaxMessage.expectedStopOrTape, at: try peek())
        }
        let name = try expectName(after: "tape")
        var persistent = false, nowatch = false
        while true {
            if try consume(keyword: .persistent) != nil { persistent = true }
            else if try consume(keyword: .nowatch) != nil { nowatch = true }
            else { break }
        }
        return .withTape(name: name, persistent: persistent, nowatch: nowatch, body: try parseBlock(after: "with tape"))
    }

    /// `tape`, `tape t`, `tape reset`, `tape reset t`
    private mutating func parseTape() throws -> StatementKind {
        try advance()
        let reset = try peek().kind == .name("reset")
        if reset { try advance() }
        var name: Identifier?
        if case .name = try peek().kind { name = try expectName(after: reset ? "reset" : "tape") }
        return reset ? .resetTape(name) : .showTape(name)
    }

    /// `if C < … > elif C < … > else < … >`; `elif` and `else` follow a closing `>` on the same line.
    private mutating func parseConditional() throws -> StatementKind {
        try advance()
        var branches = [ConditionalBranch(condition: try parseExpression(after: "if"), body: try parseBlock(after: "if"))]
        while let elif = try consume(keyword: .elif) {
            branches.append(ConditionalBranch(condition: try parseExpression(after: elif.text), body: try parseBlock(after: "elif")))
        }
        let otherwise = try consume(keyword: .else) != nil ? try parseBlock(after: "else") : nil
        return .conditional(branches: branches, otherwise: otherwise)
    }

    /// `while C < … >`
    private mutating func parseWhile() throws -> StatementKind {
        try advance()
        let condition = try parseExpression(after: "while")
        return .whileLoop(condition: condition, body: try parseBlock(after: "while"))
    }

    /// `print e1, e2, …`
    private mutating func parsePrint() throws -> StatementKind {
        let keyword = try advance()
        var expressions = [try parseExpression(after: keyword.text)]
        while let comma = try consume(symbol: ",") { expressions.append(try parseExpression(after: comma.text)) }
        return .print(expressions)
    }

    /// `repeat N [as i] [show loss] < … >`, options in any order.
    private mutating func parseRepeat() throws -> StatementKind {
        try advance()
        let count = try parseExpression(after: "repeat")
        var counter: Identifier?, shown: Identifier?
        while true {
            let option = try peek()
            guard option.isKeyword(.as) || option.isKeyword(.show) else { break }
            try advance()
            let name = try expectName(after: option.text)
            let isCounter = option.isKeyword(.as)
            if (isCounter ? counter : shown) != nil {
                throw failure(SyntaxMessage.optionGivenTwice(option.text), at: option)
            }
            if isCounter { counter = name } else { shown = name }
        }
        return .repeatLoop(count: count, counter: counter, shown: shown, body: try parseBlock(after: "repeat"))
    }

    /// `save x to "x.npy"`
    private mutating func parseSave() throws -> StatementKind {
        try advance()
        let value = try parseExpression(after: "save")
        let to = try peek()
        guard to.isKeyword(.to) else { throw failure(SyntaxMessage.expected("to", after: "save …"), at: to) }
        try advance()
        return .save(value: value, path: try expectFileName(after: "to"))
    }

    /// `explain grad …`, `check grad …`
    private mutating func parseExplainOrCheck(keyword: Token) throws -> StatementKind {
        try advance()
        let grad = try peek()
        guard grad.isKeyword(.grad) else { throw failure(SyntaxMessage.expectedGradAfter(keyword.text), at: grad) }
        let gradient = try parseGradient()
        return keyword.isKeyword(.explain) ? .explain(gradient) : .checkGradient(gradient)
    }

    /// `graph Y [to "g.dot"]`
    private mutating func parseGraph() throws -> StatementKind {
        try advance()
        let value = try parseExpression(after: "graph")
        let path = try consume(keyword: .to) != nil ? try expectFileName(after: "to") : nil
        return .graph(value: value, path: path)
    }

    /// `apply opt to w, b with gw, gb`
    private mutating func parseApply() throws -> StatementKind {
        try advance()
        let optimizer = try parseExpression(after: "apply")
        let to = try peek()
        guard to.isKeyword(.to) else { throw failure(SyntaxMessage.expected("to", after: "apply …"), at: to) }
        try advance()
        var variables = [try expectName(after: "to")]
        while try consume(symbol: ",") != nil { variables.append(try expectName(after: ",")) }
        let with = try peek()
        guard with.isKeyword(.with) else { throw failure(SyntaxMessage.expectedWithGradients, at: with) }
        try advance()
        var gradients = [try parseExpression(after: "with")]
        while try consume(symbol: ",") != nil { gradients.append(try parseExpression(after: ",")) }
        return .apply(optimizer: optimizer, variables: variables, gradients: gradients)
    }

    /// `:name rest of the line`
    private mutating func parseMeta() throws -> Statement {
        let colon = try advance()
        let line = Substring(lexer.restOfLine())
        lastEnd = lexer.cursor.location
        let lead = line.prefix(while: { $0.isWhitespace }).count
        let name = line.dropFirst(lead).prefix(while: { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" })
        guard let initial = name.first, initial.isLetter || initial == "_" else {
            throw SyntaxError(message: SyntaxMessage.expectedMetaCommandName, span: SourceSpan(at: colon.span.end))
        }
        let afterName = line.dropFirst(lead + name.count)
        let gap = afterName.prefix(while: { $0.isWhitespace }).count
        let argument = afterName.trimmingWhitespace()
        let argumentColumn = colon.span.end.column + lead + name.count + gap
        return Statement(kind: .meta(name: String(name), argument: String(argument), argumentColumn: argumentColumn),
                         span: span(from: colon))
    }

    /// `custom f(a, b) = body grad(dy) = e1, e2`; the `grad` part may start on a following line.
    private mutating func parseCustomFunction() throws -> StatementKind {
        try advance()
        let name = try expectName(after: "custom")
        let parameters = try parseParameters(after: name.name)
        try expect(symbol: "=", after: ")")
        let body = try parseFunctionBody()
        while try peek().kind == .newline { try advance() }
        let grad = try peek()
        guard grad.isKeyword(.grad) else {
            throw failure(SyntaxMessage.expectedCustomGradient(name.name), at: grad, waiting: true)
        }
        try advance()
        let opener = try peek()
        guard opener.isSymbol("(") else { throw failure(SyntaxMessage.expected("(", after: "grad"), at: opener) }
        try advance()
        try open(opener)
        let cotangent = try expectName(after: "(")
        try close(")", opener: opener)
        try expect(symbol: "=", after: ")")
        return .customFunctionDefinition(name: name, parameters: parameters, body: body,
                                         cotangent: cotangent, gradient: try parseFunctionBody())
    }

    /// `(x, y)` after a function name.
    /// A parameter named twice is an error (as in Python): the second would hide the first.
    static func checkNew(_ parameter: Identifier, among earlier: [Identifier]) throws {
        if earlier.contains(where: { $0.name == parameter.name }) {
            throw SyntaxError(message: SyntaxMessage.duplicateParameter(parameter.name), span: parameter.span)
        }
    }

    private mutating func parseParameters(after name: String) throws -> [Identifier] {
        let opener = try peek()
        guard opener.isSymbol("(") else { throw failure(SyntaxMessage.expected("(", after: name), at: opener) }
        try advance()
        try open(opener)
        var parameters: [Identifier] = []
        if !(try peek().isSymbol(")")) {
            repeat {
                let parameter = try expectName(after: parameters.isEmpty ? "(" : ",")
                try Parser.checkNew(parameter, among: parameters)
                parameters.append(parameter)
            } while try consume(symbol: ",") != nil
        }
        try close(")", opener: opener)
        return parameters
    }

    /// After `=`: a `< … >` block or one or more comma-separated expressions.
    private mutating func parseFunctionBody() throws -> FunctionBody {
        if try peek().isSymbol("<") { return .block(try parseBlock(after: "=")) }
        var expressions = [try parseExpression(after: "=")]
        while try consume(symbol: ",") != nil { expressions.append(try parseExpression(after: ",")) }
        return .expressions(expressions)
    }

    /// `< statements >`, possibly after line breaks (so `with stop` alone asks for more input).
    mutating func parseBlock(after context: String) throws -> [Statement] {
        while try peek().kind == .newline { try advance() }
        let opener = try peek()
        guard opener.isSymbol("<") else { throw failure(SyntaxMessage.expectedBlock(after: context), at: opener, waiting: true) }
        try advance()
        try open(opener)
        var statements: [Statement] = []
        while true {
            let token = try peek()
            if token.kind == .newline || token.isSymbol(";") {
                try advance()
            } else if token.isSymbol(">") {
                try close(">", opener: opener)
                return statements
            } else if token.kind == .end {
                throw failure(SyntaxMessage.expectedClosing(">", opener: "<", at: opener.span.start), at: token)
            } else {
                var statement = try parseStatement()
                try finish(&statement, insideBlock: true)
                statements.append(statement)
            }
        }
    }

    /// `plot e1, e2 over x in A..B [and grad]`; `plot v1, v2 [against xs]` for vectors.
    private mutating func parsePlot() throws -> StatementKind {
        try advance()
        var expressions = [try parseExpression(after: "plot")]
        while try consume(symbol: ",") != nil { expressions.append(try parseExpression(after: ",")) }
        let over = try peek()
        // `against` is a word only here, not a keyword: a variable may still be called `against`.
        if over.kind == .name("against") {
            try advance()
            return .plotValues(series: expressions, against: try parseExpression(after: "against"))
        }
        guard over.isKeyword(.over) else {
            if over.kind == .newline || over.kind == .end || over.isSymbol(";") || over.isSymbol(">") {
                return .plotValues(series: expressions, against: nil)
            }
            throw failure(SyntaxMessage.expected("over", after: "plot …"), at: over)
        }
        try advance()
        let variable = try expectName(after: "over")
        let inToken = try peek()
        guard inToken.isKeyword(.in) else { throw failure(SyntaxMessage.expected("in", after: "over \(variable.name)"), at: inToken) }
        try advance()
        let lower = try parseExpression(after: "in")
        let dots = try peek()
        guard dots.isSymbol("..") else { throw failure(SyntaxMessage.expectedDotDot, at: dots) }
        try advance()
        let upper = try parseExpression(after: "..")
        var includeGradient = false
        if try consume(keyword: .and) != nil {
            let grad = try peek()
            guard grad.isKeyword(.grad) else { throw failure(SyntaxMessage.expectedGradAfter("and"), at: grad) }
            try advance()
            includeGradient = true
        }
        return .plot(expressions: expressions, variable: variable, lower: lower, upper: upper,
                     includeGradient: includeGradient)
    }

    /// `expr`, `x = expr`, `x[i] = expr`, `a, b = expr`, `f(x) = body`, `w += expr`, `x[i] += expr`, `a, b`.
    private mutating func parseExpressionStatement() throws -> Statement {
        let first = try peek()
        guard canStartExpression(first) else { throw failure(SyntaxMessage.unexpected(first.quoted), at: first) }
        let expression = try parseExpression()
        let next = try peek()
        let kind: StatementKind
        if next.isSymbol("=") {
            try advance()
            switch expression.kind {
            case .name(let name):
                kind = .assignment(target: Identifier(name: name, span: expression.span),
                                   value: try parseExpression(after: "="))
            case .index(let base, let items):
                guard case .name(let name) = base.kind else { throw SyntaxError(message: SyntaxMessage.cannotAssign, span: expression.span) }
                kind = .indexAssignment(target: Identifier(name: name, span: base.span), subscript: items, operator: nil,
                                        value: try parseExpression(after: "="))
            case .call(let name, let arguments):
                var parameters: [Identifier] = []
                for argument in arguments {
                    guard argument.label == nil, case .name(let parameter) = argument.value.kind else {
                        throw SyntaxError(message: SyntaxMessage.expectedParameterName,
                                          span: argument.label.map { $0.span.union(argument.value.span) } ?? argument.value.span)
                    }
                    let identifier = Identifier(name: parameter, span: argument.value.span)
                    try Parser.checkNew(identifier, among: parameters)
                    parameters.append(identifier)
                }
                let nameSpan = SourceSpan(start: expression.span.start, end: expression.span.start)
                kind = .functionDefinition(name: Identifier(name: name, span: nameSpan.extended(by: name)),
                                           parameters: parameters, body: try parseFunctionBody())
            default:
                throw SyntaxError(message: SyntaxMessage.cannotAssign, span: expression.span)
            }
        } else if case .symbol(let symbol) = next.kind, let op = UpdateOperator(rawValue: symbol) {
            try advance()
            switch expression.kind {
            case .name(let name):
                kind = .update(target: Identifier(name: name, span: expression.span), operator: op,
                               value: try parseExpression(after: next.text))
            case .index(let base, let items):
                guard case .name(let name) = base.kind else { throw SyntaxError(message: SyntaxMessage.cannotAssign, span: expression.span) }
                kind = .indexAssignment(target: Identifier(name: name, span: base.span), subscript: items, operator: op,
                                        value: try parseExpression(after: next.text))
            default:
                throw SyntaxError(message: SyntaxMessage.cannotAssign, span: expression.span)
            }
        } else if next.isSymbol(",") {
            var expressions = [expression]
            while try consume(symbol: ",") != nil { expressions.append(try parseExpression(after: ",")) }
            if try peek().isSymbol("=") {
                let equal = try advance()
                var targets: [Identifier] = []
                for item in expressions {
                    guard case .name(let name) = item.kind else {
                        throw SyntaxError(message: SyntaxMessage.expectedNamesBeforeEqual, span: item.span)
                    }
                    targets.append(Identifier(name: name, span: item.span))
                }
                kind = .multipleAssignment(targets: targets, value: try parseExpression(after: equal.text))
            } else {
                kind = .expressionList(expressions)
            }
        } else {
            kind = .expression(expression)
        }
        return Statement(kind: kind, span: span(from: first))
    }
}

extension SourceSpan {
    /// The span starting where this one starts and covering `text` on the same line.
    func extended(by text: String) -> SourceSpan {
        var end = start
        end.offset += text.utf8.count
        end.column += text.count
        return SourceSpan(start: start, end: end)
    }
}

extension Substring {
    func trimmingWhitespace() -> Substring {
        guard let first = firstIndex(where: { !$0.isWhitespace }),
              let last = lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return self[first...last]
    }
}
