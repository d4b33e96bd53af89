/// Python, NumPy, TensorFlow and PyTorch habits that tapebook writes another way.
///
/// When a statement does not parse and its line reads like one of them (`y.backward()`, `for i in
/// range(10):`, `tape.gradient(y, x)`), the error says how tapebook writes it instead of the parser's
/// bare complaint. Collected from TensorFlow's `tf.GradientTape` guide and reference (constant,
/// Variable, watch, gradient, persistent, stop_recording) and PyTorch's autograd tutorial
/// (requires_grad, backward, .grad, grad_fn, detach, no_grad, torch.autograd.grad).
enum ForeignHabit {
    /// Module names whose functions are tapebook's built-ins, called without a prefix.
    static let modules: Set<String> = ["np", "numpy", "tf", "torch", "jnp", "jax", "math", "F", "nn", "keras", "autograd"]

    /// The message for a statement whose text (up to the end of its line) is `line`, when it reads like a
    /// habit from elsewhere. Statements after it on the line (`;`) are not looked at.
    static func hint(for line: String) -> String? {
        let words = Words(line).throughFirstStatement
        guard let first = words.items.first else { return nil }
        switch first.text {
        case "for":
            if let variable = words.text(at: 1), words.text(at: 2) == "in", words.text(at: 3) == "range",
               let count = words.arguments(after: 3), count.count == 1 {
                return "a loop is written 'repeat \(count[0]) as \(variable) < … >' (\(variable) counts from 0)"
            }
            return "a loop is written 'repeat N as i < … >': N times, with i counting from 0"
        case "def":
            if let name = words.text(at: 1), let parameters = words.arguments(after: 1) {
                let call = "\(name)(\(parameters.joined(separator: ", ")))"
                return "a function is defined as '\(call) = expression', or '\(call) = < …; value >' for a block whose last line is its value"
            }
            return "a function is defined as 'f(x) = expression', or 'f(x) = < …; value >' for a block"
        case "import", "from":
            return "there is nothing to import: the built-ins (sin, sum, matmul, …) are always there; ':help' lists them"
        case "lambda":
            return "a function is defined with a name: 'f(x) = expression'"
        case "return":
            return "a block's value is its last line, without 'return': 'f(x) = < a = x^2; a + 1 >'"
        case "with" where line.containsWord("GradientTape"):
            let persistent = line.containsWord("persistent") ? " persistent" : ""
            return "every statement is already recorded on the implicit tape; for a tape of your own, "
                + "TensorFlow's 'with tf.GradientTape() as t:' is 'with tape t\(persistent) < … >'"
        case "with" where line.containsWord("no_grad") || line.containsWord("stop_recording"):
            return "'with stop < … >' runs its block without recording"
        default:
            break
        }
        // `grad(y, x)`, also after `name =`; `custom f(x) = … grad(dy) = …` is tapebook's own.
        if first.text != "custom", let call = words.items.indices.first(where: {
            ["grad", "jacobian", "hessian"].contains(words.items[$0].text) && words.text(at: $0 + 1) == "("
        }) {
            let keyword = words.items[call].text
            let arguments = words.arguments(after: call) ?? []
            let y = arguments.count == 2 ? arguments[0] : "y", x = arguments.count == 2 ? arguments[1] : "x"
            return "'\(keyword)' is a statement, not a function: write '\(keyword) \(y) wrt \(x)'"
        }
        return member(words)
    }

    /// Hints for `base.member`, the first one on the line other than `.T`.
    private static func member(_ words: Words) -> String? {
        let items = words.items
        guard let dot = items.indices.first(where: {
            items[$0].text == "." && $0 > 0 && $0 + 1 < items.count && items[$0 + 1].text != "T" && items[$0 + 1].isName
        }) else { return nil }
        let base = items[dot - 1].text, member = items[dot + 1].text
        let arguments = words.arguments(after: dot + 1)
        let isModule = modules.contains(base)
        switch member {
        case "gradient", "gradients":
            let a = arguments ?? []
            let y = a.count >= 2 ? a[0] : "y", x = a.count >= 2 ? a[1] : "x"
            return "TensorFlow's '\(base).\(member)(\(y), \(x))' is 'grad \(y) wrt \(x)' (with 'using t' for a tape of your own)"
        case "watch":
            let x = arguments?.first ?? "x"
            return "'\(base).watch(\(x))' is 'watch \(x)' (or 'watch \(x) on t' for a tape of your own)"
        case "backward":
            return "PyTorch's '\(base).backward()' is 'grad \(base) wrt x': it gives ∂\(base)/∂x, and nothing is stored on x"
        case "grad" where isModule || base == "autograd":
            let a = arguments ?? []
            let y = a.count >= 2 ? a[0] : "y", x = a.count >= 2 ? a[1] : "x"
            return "a gradient is written 'grad \(y) wrt \(x)'"
        case "grad":
            return "gradients are not stored on values: 'grad y wrt \(base)' gives ∂y/∂\(base), and ':grads' lists the last ones"
        case "shape", "size":
            return "values have no attributes: write '\(member)(\(isModule ? "x" : base))'"
        case "ndim", "dim":
            return "values have no attributes: write 'rank(\(isModule ? "x" : base))'"
        case "numpy", "item", "tolist":
            return "values are plain numbers already: write '\(base)' to see it"
        case "detach":
            return "values have no methods: write 'stop_gradient(\(base))'"
        case "requires_grad", "requires_grad_":
            return "values have no attributes: write 'watch \(base)' to record gradients with respect to it"
        case "Variable":
            return "a variable is declared as 'var w = …'"
        case "tensor", "constant", "array", "asarray", "convert_to_tensor":
            return "a tensor is written as a literal: 'x = [1, 2, 3]' ('watch x' to record gradients with respect to it)"
        case "GradientTape":
            return "every statement is already recorded on the implicit tape; a tape of your own is 'with tape t < … >'"
        case "stop_recording", "no_grad":
            return "'with stop < … >' runs its block without recording"
        case "grad_fn":
            return "'tape' lists the recorded operations, and 'explain grad \(base) wrt x' walks the backward pass"
        default:
            if isModule { return "the built-ins need no module: write '\(member)(…)'" }
            if let arguments {
                return "there are no methods: write '\(member)(\(([base] + arguments).joined(separator: ", ")))'"
            }
            return "there are no attributes: only '.T' (the transpose) follows a value"
        }
    }
}

/// A line cut into names, numbers and single symbols, enough to recognize a habit.
private struct Words {
    struct Item {
        var text: String
        var isName: Bool
    }
    var items: [Item] = []

    init(_ line: String) {
        var current = ""
        var inString = false
        func flush() {
            if !current.isEmpty { items.append(Item(text: current, isName: current.first!.isLetter || current.first! == "_")) }
            current = ""
        }
        for character in line {
            // A string (a file name) is one item: its dots and words are not code.
            if inString {
                current.append(character)
                if character == "\"" { items.append(Item(text: current, isName: false)); current = ""; inString = false }
                continue
            }
            if character == "\"" { flush(); current = "\""; inString = true; continue }
            if character == "#" { break }
            if character.isLetter || character.isNumber || character == "_" {
                current.append(character)
            } else {
                flush()
                if !character.isWhitespace { items.append(Item(text: String(character), isName: false)) }
            }
        }
        flush()
    }

    func text(at index: Int) -> String? { index < items.count ? items[index].text : nil }

    /// The items before the first `;` outside brackets.
    var throughFirstStatement: Words {
        var depth = 0
        for (index, item) in items.enumerated() {
            switch item.text {
            case "(", "[", "<": depth += 1
            case ")", "]", ">": depth = max(0, depth - 1)
            case ";" where depth == 0:
                var result = self
                result.items = Array(items[..<index])
                return result
            default: break
            }
        }
        return self
    }

    /// The comma-separated arguments of the parentheses right after item `index`, as written (spaces
    /// dropped), or nil when no `(` follows it.
    func arguments(after index: Int) -> [String]? {
        guard text(at: index + 1) == "(" else { return nil }
        var arguments: [String] = [], current = "", depth = 0
        for item in items[(index + 2)...] {
            switch item.text {
            case "(", "[": depth += 1
            case ")" where depth == 0:
                if !current.isEmpty { arguments.append(current) }
                return arguments
            case ")", "]": depth = max(0, depth - 1)
            case "," where depth == 0:
                arguments.append(current)
                current = ""
                continue
            default: break
            }
            current += item.text
        }
        return arguments + (current.isEmpty ? [] : [current])
    }
}

private extension String {
    func containsWord(_ word: String) -> Bool { Words(self).items.contains { $0.text == word } }
}
