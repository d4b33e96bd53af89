import TapeSyntax

extension PythonWriter {
    /// Whether `code` is a single call `f(...)`: its first parenthesis closes at its end.
    static func isOneCall(_ code: String) -> Bool {
        guard code.hasSuffix(")"), let open = code.firstIndex(of: "(") else { return false }
        guard code[..<open].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }) else { return false }
        var depth = 0
        for (i, c) in zip(code.indices, code) where i >= open {
            if c == "(" { depth += 1 }
            if c == ")" { depth -= 1; if depth == 0 { return code.index(after: i) == code.endIndex } }
        }
        return false
    }

    /// A call of a declared built-in, written from its declaration's spelling for the target (nil: the
    /// built-in is not declared, and the exporter's own cases write it).
    mutating func declaredCall(_ name: String, _ arguments: [Argument], env: [String: Int], inline: InlineContext?) throws -> PyCode? {
        guard let builtin = Builtins.table[name] else { return nil }
        switch builtin.export {
        case .exporter: return nil
        case .notExported(let reason): throw unsupported("\(name) has no equivalent in \(target.library): \(reason)")
        case .spelled(let templates):
            guard let template = templates[target] else { throw unsupported("\(name) has no spelling for \(target.library)") }
            let positional = arguments.filter { $0.label == nil }
            var out = ""
            var rest = Substring(template)
            while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
                out += rest[..<open]
                var key = String(rest[rest.index(after: open)..<close])
                let asWritten = key.hasSuffix("!"), asInts = key.hasSuffix("#")
                if asWritten || asInts { key.removeLast() }
                guard let position = builtin.parameters.firstIndex(where: { $0.name == key }) else {
                    throw unsupported("\(name)'s spelling names an unknown parameter '\(key)'")
                }
                let given = arguments.first(where: { $0.label?.name == key }) ?? (position < positional.count ? positional[position] : nil)
                if let given, asInts {
                    guard let literal = numericLiteral(given.value) else { throw unsupported("'\(key)' of \(name) must be written as numbers") }
                    out += literal.hasPrefix("[") ? "(" + literal.dropFirst().dropLast() + (literal.containsText(",") || literal.containsText("[[") ? ")" : ",)") : literal
                } else if let given {
                    // As written: a shape or a count, a Python list or number where it is a literal.
                    if asWritten, let literal = numericLiteral(given.value) {
                        out += literal
                    } else {
                        let code = try expression(given.value, env: env, inline: inline)
                        out += asWritten ? code.text : tensor(code)
                    }
                } else {
                    switch builtin.parameters[position].defaultValue {
                    case .number(let d)?: out += asWritten || asInts ? PythonWriter.number(d) : tensor(PyCode(text: PythonWriter.number(d), precedence: PyCode.atom, isNumber: true))
                    case .string(let s)?: out += quote(s)
                    case .absent?: out += "None"
                    case nil: throw unsupported("\(name) needs '\(key)'")
                    }
                }
                rest = rest[rest.index(after: close)...]
            }
            out += rest
            // A spelling that is not one call (`torch.full(...) * v`) is parenthesized, so that an operator
            // around it (`fill(...)^2`) applies to all of it.
            return PythonWriter.atom(PythonWriter.isOneCall(out) ? out : "(" + out + ")")
        }
    }
}
