import TapeSyntax
import Portable

/// `:help` and `:help TOPIC`.
///
/// Every statement, keyword and meta command has a topic: its syntax, one paragraph in the language's
/// (and TensorFlow's) terms, and an example that runs in a fresh session. Built-ins without a topic fall
/// back to their usage and summary from `Builtins.table`.
public enum Help {
    /// What `:help TOPIC` found.
    public enum Lookup: Equatable {
        /// The help text.
        case found(String)
        /// No such topic: the message, and a note (a suggestion, or where to look).
        case failure(String, note: String)

        /// The text, or an `EvaluationError` at `span` (the `:help` statement's own span).
        public func text(at span: SourceSpan) throws -> String {
            switch self {
            case .found(let text): return text
            case .failure(let message, let note): throw EvaluationError(message, at: span, note: note)
            }
        }
    }

    /// One topic.
    struct Topic {
        /// Syntax lines, shown first.
        var syntax: [String]
        /// One paragraph, wrapped to the width.
        var text: String
        /// Statements that run in a fresh session.
        var example: String
        /// Related topics.
        var seeAlso: [String] = []
    }

    /// `:help` (topic nil) or `:help TOPIC`.
    public static func lookup(_ topic: String?, width: Int) -> Lookup {
        guard let raw = topic?.trimmingWhitespace(), !raw.isEmpty else { return .found(overview) }
        let name = canonical(raw)
        if let entry = topics[name] {
            // A command that shares its name with a built-in (`:load`, `load("x.npy")`) shows both.
            if name != raw, let b = Builtins.named(raw) { return .found(render(name: name, entry, width: width) + "\n\n\(b.usage)\n  \(b.summary)") }
            return .found(render(name: name, entry, width: width))
        }
        if let b = Builtins.named(raw) { return .found("\(b.usage)\n  \(b.summary)") }
        let suggestion = suggestion(for: raw).map { "did you mean '\($0)'?" } ?? "see :help"
        return .failure("no help on '\(raw)'", note: suggestion)
    }

    /// A likely intended topic: the one topic that starts with what was typed (`batch`), a near miss by edit
    /// distance, or the same letters swapped (`gard`).
    static func suggestion(for raw: String) -> String? {
        let names = allTopicNames
        let starting = names.filter { $0.hasPrefix(raw) || $0.hasPrefix(":" + raw) }
        if starting.count == 1 { return starting[0] }
        if let near = closestName(to: raw, among: names) { return near }
        return names.first(where: { $0.count == raw.count && $0.sorted() == raw.sorted() })
    }


    /// The name a topic is filed under: `vars` and `:vars` are the same; keywords lead to their statement.
    static func canonical(_ raw: String) -> String {
        if topics[raw] != nil { return raw }
        if let target = aliases[raw] { return target }
        if !raw.hasPrefix(":"), topics[":" + raw] != nil { return ":" + raw }
        if raw.hasPrefix(":"), let target = aliases[String(raw.dropFirst())], target.hasPrefix(":") { return target }
        return raw
    }

    /// Every name `:help` answers to, for suggestions and completion.
    public static var allTopicNames: [String] {
        Array(Set(Array(topics.keys) + Array(aliases.keys) + Builtins.names)).sorted()
    }

    /// The topics filed under their own name (not aliases, not built-ins).
    static var topicNames: [String] { topics.keys.sorted() }

    static func render(name: String, _ topic: Topic, width: Int) -> String {
        let indent = "  "
        var lines = topic.syntax
        lines.append("")
        lines += wrap(topic.text, width: max(40, min(width, 100)) - indent.count).map { indent + $0 }
        lines.append("")
        lines.append("example:")
        lines += topic.example.split(separator: "\n", omittingEmptySubsequences: false).map { indent + $0 }
        if !topic.seeAlso.isEmpty {
            lines.append("")
            lines.append("see also: " + topic.seeAlso.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }

    /// Greedy word wrap; words longer than the width stand alone.
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ") {
            if current.isEmpty { current = String(word) }
            else if current.count + 1 + word.count <= width { current += " " + word }
            else { lines.append(current); current = String(word) }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    public static let overview = """
    statements                                     :help TOPIC for any of them
      x = [1, 2, 3]              bind a name (a, b = ... binds several)
      watch x                    track x on the tape (watch x on t: one tape)
      var w = randn([3])         a trainable variable; w -= lr * g updates it
      grad y wrt x               ∂sum(y)/∂x [seed S] [unconnected zero] [using t]
      jacobian y wrt x           also batch_jacobian, hessian, jvp y wrt x along v
      stop_gradient(x)           the value of x, cut from the tape
      with stop < ... >          run a block with recording stopped
      with tape t [persistent] [nowatch] < ... >
      tape [t], tape reset [t]   list or empty the implicit tape, or tape t
      f(x) = x^2 + 1             a function; f(x) = < a = x^2; a + 1 > with a block
      custom f(x) = ... grad(dy) = ...   a function with its own gradient
      repeat N [as i] [show loss] < ... >
      while (x < 10) < ... >     also if C < ... > elif C < ... > else < ... >
      print i, loss              prints inside loops too
      x += 1; x[0] = 5           recorded on a plain tensor; x[x < 0] = 0 masks
      params = (w, b)            a group; gs = grad loss wrt w, b is one too
      opt = adam(0.01)           also sgd, rmsprop, adagrad (Keras's formulas)
      apply opt to w, b with gw, gb   one optimizer step, in place
      save x to "x.npy"          load("x.npy") reads .npy and .csv
    looking inside
      explain grad y wrt x       the backward pass step by step
      check grad y wrt x         the tape's gradient against finite differences
      graph y [to "g.dot"]       the computation graph
      graph grad y wrt x         the same, with the gradient of y on every value
      plot f(x) over x in a..b [and grad]
      plot v [against xs]        a vector against its index, or against xs
    commands
      :help [topic]  :vars  :grads  :save "f.tape" [without custom]  :load "f.tape"
      :export tf|jax|torch "f.py"
      :set precision N | color on|off | anomaly on|off | width N | limit N
      :set memory MiB|auto
      :time STATEMENT  :reset  :quit
    built-ins: :help sum, :help softmax, ... (Tab completes their names)
    """

    /// Keywords and other names that lead to a topic.
    static let aliases: [String: String] = [
        "wrt": "grad", "seed": "grad", "unconnected": "grad", "zero": "grad", "gradient": "grad",
        "along": "jvp", "using": "with", "persistent": "with", "nowatch": "with", "on": "watch",
        "function": "def", "functions": "def", "fn": "def",
        "as": "repeat", "show": "repeat", "over": "plot", "in": "plot", "and": "plot", "against": "plot",
        "kernel": "jupyter", "notebook": "jupyter", "ipynb": "jupyter", "convert": "jupyter",
        "to": "save", "reset": "tape", "group": "groups", "optimizer": "apply", "optimizers": "apply",
        "variable": "var", "variables": ":vars", "help": ":help",
        "exit": ":quit", "safe": "trust", "security": "trust", "q": ":quit", "h": ":help", "?": ":help", "health": ":grads",
        "elif": "if", "else": "if", "+=": "assignment", "-=": "assignment", "*=": "assignment", "/=": "assignment",
        "=": "assignment", "==": "comparison", "!=": "comparison", "<": "comparison", ">": "comparison",
        "<=": "comparison", ">=": "comparison", "true": "comparison", "false": "comparison", "%": "operators",
        "//": "operators", "+": "operators", "-": "operators", "*": "operators", "/": "operators", "@": "operators",
        "^": "operators", "**": "operators",
    ]

    static let topics: [String: Topic] = [
        "groups": Topic(
            syntax: ["(A, B, ...)   (X,)", "G = grad Y wrt A, B", "G[0]   A, B = G", "G - 0.1 * H   sin(G)",
                     "G -= E   (a group of variables)"],
            text: """
            A group is an ordered list of tensors (or Nones), JAX's pytree and TensorFlow's list of \
            variables in one. Several results bound to one name make a group; G[0] takes a member (G[-1] \
            the last) and A, B = G unpacks it. Arithmetic and elementwise built-ins apply member by member, \
            a tensor broadcasting to every member; two groups must have the same length. Groups do not \
            nest. A group of variables holds the variables themselves: G -= E updates them in place, and \
            grad Y wrt G, apply OPT to G with H, global_norm(G) and clip_by_global_norm(C, G) take every \
            member.
            """,
            example: "var w = [1, 2]\nvar b = 0.5\nparams = (w, b)\nloss = sum((w * [3, 4] + b)^2)\ngs = grad loss wrt params\nparams -= 0.01 * gs\nw",
            seeAlso: ["apply", "grad", "hessian", "var"]),
        "apply": Topic(
            syntax: ["apply OPT to W1, W2 with G1, G2", "apply OPT to PARAMS with GS"],
            text: """
            One step of an optimizer (Keras's apply_gradients): each variable is updated in place, \
            unrecorded, from its gradient, and OPT keeps each variable's slots (moments, accumulators), \
            untracked, and counts its steps. The variables are variables (var W = ...) or groups of them; \
            a plain tensor is an error. The gradients are expressions or groups, one per variable in \
            order; a None gradient leaves its variable as it was, with a note, as Keras skips it.
            """,
            example: "var w = [1, -2]\nopt = adam(0.1)\nrepeat 20 < loss = sum(w^2); apply opt to w with grad loss wrt w >\nw\nopt",
            seeAlso: ["sgd", "adam", "rmsprop", "adagrad", "groups", "var"]),
        "sgd": Topic(
            syntax: ["OPT = sgd(lr=0.01, momentum=0, nesterov=false)"],
            text: """
            Stochastic gradient descent (tf.keras.optimizers.SGD), in float64: w -= lr * g; with momentum, \
            m = momentum * m - lr * g and w += m (w += momentum * m - lr * g with nesterov). The learning \
            rate may come first unlabelled: sgd(0.1). Use it with apply.
            """,
            example: "var w = 3.0\nopt = sgd(0.1, momentum=0.9)\nrepeat 10 < apply opt to w with grad w^2 wrt w >\nw",
            seeAlso: ["apply", "adam", "rmsprop", "adagrad"]),
        "adam": Topic(
            syntax: ["OPT = adam(lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-7, amsgrad=false)"],
            text: """
            Adam (tf.keras.optimizers.Adam) with Keras's formulas in float64: m += (g - m)(1 - beta1), \
            v += (g² - v)(1 - beta2), w -= m·lr·sqrt(1 - beta2^t)/(1 - beta1^t)/(sqrt(v) + epsilon), t the \
            optimizer's step; amsgrad uses the largest v so far. Keras rounds the learning rate and the \
            betas of the bias correction through float32, so tf.keras differs by about 1e-6 relative.
            """,
            example: "var w = [1, -2]\nopt = adam(0.1)\nrepeat 20 < apply opt to w with grad sum(w^2) wrt w >\nw",
            seeAlso: ["apply", "sgd", "rmsprop", "adagrad"]),
        "rmsprop": Topic(
            syntax: ["OPT = rmsprop(lr=0.001, rho=0.9, momentum=0, epsilon=1e-7)"],
            text: """
            RMSprop (tf.keras.optimizers.RMSprop, not centered), in float64: v = rho·v + (1 - rho)·g², \
            step = lr·g/sqrt(v + epsilon); w -= step, or with momentum m = momentum·m + step and w -= m.
            """,
            example: "var w = [1, -2]\nopt = rmsprop(0.1)\nrepeat 20 < apply opt to w with grad sum(w^2) wrt w >\nw",
            seeAlso: ["apply", "sgd", "adam", "adagrad"]),
        "adagrad": Topic(
            syntax: ["OPT = adagrad(lr=0.001, initial_accumulator=0.1, epsilon=1e-7)"],
            text: """
            Adagrad (tf.keras.optimizers.Adagrad), in float64: the accumulator starts at \
            initial_accumulator, a += g², and w -= lr·g/sqrt(a + epsilon).
            """,
            example: "var w = [1, -2]\nopt = adagrad(0.5)\nrepeat 20 < apply opt to w with grad sum(w^2) wrt w >\nw",
            seeAlso: ["apply", "sgd", "adam", "rmsprop"]),
        "grad": Topic(
            syntax: ["grad Y wrt X", "grad Y wrt X1, X2 [seed S] [unconnected zero] [using T]", "grad (Y1, Y2) wrt X"],
            text: """
            The gradient of sum(Y) with respect to the value bound to each source X, computed by reverse \
            mode over the recorded operations (GradientTape.gradient). Y may be any expression; sources are \
            names, and may be intermediate values. seed S supplies the output gradient (TensorFlow's \
            output_gradients, a vector-Jacobian product); a source Y does not reach gives None with the \
            reason, or zeros with unconnected zero (UnconnectedGradients.ZERO). using T reads the scoped \
            tape T instead of the implicit one. grad is an expression, so gradients of gradients work to \
            any order. Several targets, grad (Y1, Y2) wrt X, give the gradient of their sum \
            (tape.gradient([y1, y2], x)); several sources bound to one name make a group, and a group \
            source (wrt params) takes every member.
            """,
            example: "x = [1, 2, 3]\nwatch x\ny = sum(x^2)\ngrad y wrt x\ngrad (grad x^3 wrt x) wrt x",
            seeAlso: ["watch", "jacobian", "explain", "check", "with"]),
        "jacobian": Topic(
            syntax: ["jacobian Y wrt X [using T]", "jacobian Y wrt X1, X2"],
            text: """
            Every partial derivative of every element of Y with respect to every element of X, shaped \
            Y.shape + X.shape (GradientTape.jacobian): row i is the gradient of Y[i]. A source that Y does \
            not reach gives None, or zeros with unconnected zero. Several sources give one jacobian each.
            """,
            example: "x = [1, 2, 3]\nwatch x\njacobian x^2 wrt x",
            seeAlso: ["batch_jacobian", "grad", "hessian", "jvp"]),
        "batch_jacobian": Topic(
            syntax: ["batch_jacobian Y wrt X [using T]"],
            text: """
            Per-example jacobians (GradientTape.batch_jacobian): for Y of shape [b, ...] and X of shape \
            [b, ...] where example i of Y depends only on example i of X, the result has shape \
            [b] + Y.shape[1:] + X.shape[1:], without the zero blocks a full jacobian would hold.
            """,
            example: "x = [[1, 2], [3, 4]]\nwatch x\nbatch_jacobian x^2 wrt x",
            seeAlso: ["jacobian"]),
        "hessian": Topic(
            syntax: ["hessian Y wrt X [using T]", "hessian Y wrt W, B"],
            text: """
            The matrix of second derivatives of a scalar Y, shaped X.shape + X.shape: the jacobian of the \
            gradient, as two nested GradientTapes compute it. Y must have one element. With several \
            sources it gives the blocks ∂²/∂W∂W, ∂²/∂W∂B, ∂²/∂B∂W, ∂²/∂B∂B as a group, block (W, B) shaped \
            W.shape + B.shape (JAX's hessian with argnums).
            """,
            example: "v = [1, 2]\nwatch v\nf = v[0]^2 * v[1] + v[1]^3\nhessian f wrt v",
            seeAlso: ["grad", "jacobian", "jvp"]),
        "jvp": Topic(
            syntax: ["jvp Y wrt X along V"],
            text: """
            The directional derivative J·V of Y with respect to X along V, shaped like Y, computed in \
            forward mode (TensorFlow's ForwardAccumulator) without building the jacobian. V has the shape \
            of X. It is the forward-mode counterpart of grad Y wrt X seed S, which gives S·J.
            """,
            example: "x = [1, 2, 3]\nwatch x\njvp x^2 wrt x along [1, 0, 0]",
            seeAlso: ["grad", "jacobian"]),
        "watch": Topic(
            syntax: ["watch X [, Y ...]", "watch X on T"],
            text: """
            Marks the values bound to the names now as tracked (GradientTape.watch), so operations on them \
            are recorded and gradients can reach them. Binding the name again (x = 4) binds a new, \
            untracked value, as in TensorFlow. Inside a with tape block, watch watches on every open tape; \
            watch X on T watches on T alone. Variables need no watch.
            """,
            example: "x = 3\nwatch x\ngrad x^2 wrt x",
            seeAlso: ["var", "grad", "with", ":vars"]),
        "var": Topic(
            syntax: ["var W = EXPR", "W -= EXPR", "W += EXPR"],
            text: """
            Makes a trainable variable (tf.Variable): always tracked, and watched automatically by scoped \
            tapes unless nowatch. W -= EXPR and W += EXPR update it in place without being recorded \
            (assign_sub, assign_add), which is how a training step changes the weights. A plain W = EXPR \
            binds a plain tensor and says that W is no longer a variable.
            """,
            example: "var w = [1, 2]\nloss = sum(w^2)\ng = grad loss wrt w\nw -= 0.1 * g\nw",
            seeAlso: ["watch", "repeat", ":vars"]),
        "with": Topic(
            syntax: ["with tape T [persistent] [nowatch] < ... >", "with stop [T] < ... >",
                     "grad Y wrt X using T"],
            text: """
            with tape T opens an explicit, scoped tape named T, like `with tf.GradientTape() as T:`. While \
            its block runs it records operations on values watched on it and, unless nowatch \
            (watch_accessed_variables=False), on variables. grad, jacobian, batch_jacobian and hessian read \
            it with using T. A tape that is not persistent answers once; a second use is an error, as in \
            TensorFlow. Nested blocks give higher-order derivatives as nested GradientTapes do. with stop \
            runs its block with recording off.
            """,
            example: "x = [1, 2, 3]\nwith tape t persistent < watch x; y = sum(x^2); z = sum(x^3) >\ngrad y wrt x using t\ngrad z wrt x using t",
            seeAlso: ["stop", "tape", "watch", "grad"]),
        "stop": Topic(
            syntax: ["with stop < ... >", "with stop T < ... >"],
            text: """
            Runs the block with recording stopped (GradientTape.stop_recording): what it computes is \
            untracked, so a gradient through it is None, with the reason. Names bound inside stay bound \
            after the block. with stop stops every tape; with stop T stops scoped tape T alone.
            """,
            example: "x = [1, 2, 3]\nwatch x\nwith stop < z = 2 * x >\ngrad z wrt x",
            seeAlso: ["stop_gradient", "with", "grad"]),
        "tape": Topic(
            syntax: ["tape", "tape reset", "tape T", "tape reset T"],
            text: """
            The session has one implicit tape, always on and persistent: an operation is recorded when at \
            least one of its inputs is tracked. tape lists the recorded operations still reachable from \
            the workspace (number, operation, inputs, output shape, name, line), the watched values and \
            the memory the tape holds. tape reset empties it: every value becomes untracked, variables \
            stay variables; a scoped tape whose block is open stays bound. Scoped tapes are opened with \
            with tape: tape T lists what T recorded, and tape reset T empties T and forgets what was \
            watched on it, and T goes on recording (GradientTape.reset()).
            """,
            example: "x = [1, 2]\nwatch x\ny = sum(x * x)\ntape\ntape reset\nwith tape t < watch x; z = x * 3; tape t; tape reset t >",
            seeAlso: ["with", "watch", "graph", ":vars"]),
        "stop_gradient": Topic(
            syntax: ["stop_gradient(X)"],
            text: """
            The value of X, untracked (tf.stop_gradient): the forward value is unchanged, but gradients \
            do not flow back through it, so a source reached only through it gives None, with the reason \
            "cut by stop_gradient". Unlike with stop, it cuts one value inside an expression.
            """,
            example: "x = 3\nwatch x\ny = x * stop_gradient(x)\ngrad y wrt x",
            seeAlso: ["stop", "grad"]),
        "custom": Topic(
            syntax: ["custom F(X) = EXPR grad(DY) = EXPR", "custom F(A, B) = EXPR grad(DY) = GA, GB"],
            text: """
            Defines F with its own gradient (@tf.custom_gradient): a call of F is one operation on the \
            tape, and its vector-Jacobian product is the grad expression, evaluated with the parameters \
            and DY, the upstream gradient, bound. With several parameters the grad expression gives one \
            result per parameter. The grad expression is differentiable itself, so higher orders go \
            through it. :save keeps it; :save "f.tape" without custom saves F as a plain function.
            """,
            example: "custom clipped(x) = x grad(dy) = clip(dy, -1, 1)\nx = [1, 2]\nwatch x\ngrad 5 * clipped(x) wrt x",
            seeAlso: ["def", ":save"]),
        "def": Topic(
            syntax: ["F(X, Y) = EXPR", "F(X) = < A = X^2; A + 1 >"],
            text: """
            Defines a function. Its body is an expression, or a block whose last expression is its value. \
            A function reads session names but binds only its own; its operations are recorded like any \
            others, so gradients flow through a call. There is no def keyword: a call pattern on the left \
            of = defines the function.
            """,
            example: "f(x) = < a = x^2; a + 1 >\nx = 3\nwatch x\nf(x)\ngrad f(x) wrt x",
            seeAlso: ["custom", ":vars"]),
        "repeat": Topic(
            syntax: ["repeat N < ... >", "repeat N as I [show LOSS] < ... >"],
            text: """
            Runs its block N times; as I binds the count I from 0. The statements inside print nothing \
            and the names they bind stay bound after it. show LOSS prints the first and last value of \
            LOSS and a sparkline of it, and on a terminal or in a notebook a block that runs longer than \
            half a second shows a progress bar. Ctrl-C stops it as it stops a Python training loop: the iterations that \
            finished stay done, the one it interrupted is undone, and the loop says how many ran. Only \
            print prints inside it. Gradients that vanish, explode or converge during the loop are reported.
            """,
            example: "var w = [1, -2]\nrepeat 50 as i show loss <\n  loss = sum(w^2)\n  w -= 0.1 * grad loss wrt w\n>",
            seeAlso: ["var", ":grads", ":time"]),
        "while": Topic(
            syntax: ["while COND < ... >"],
            text: """
            Runs its block while COND holds, as Python's while under a GradientTape: each iteration's \
            operations are recorded, the condition never is. COND is a scalar or a one-element tensor, \
            non-zero is true; a condition with several elements is an error (use any or all), as is an \
            empty one or NaN. < and > compare only inside parentheses: while (x < 10) < ... >. The \
            statements inside print nothing but print; Ctrl-C stops the loop and keeps the iterations \
            that finished.
            """,
            example: "x = 1\nwatch x\ny = x\nwhile (y < 100) < y = y * 3 >\ny\ngrad y wrt x",
            seeAlso: ["if", "repeat", "print", "comparison"]),
        "if": Topic(
            syntax: ["if COND < ... >", "if COND < ... > elif COND < ... > else < ... >"],
            text: """
            Runs the first branch whose condition holds, or the else branch, as Python's if under a \
            GradientTape: only the branch that runs is recorded, so a source used only in another branch \
            gets None, with that reason (TensorFlow's guide, "control flow"). elif and else follow the \
            closing > on the same line. COND is a scalar or a one-element tensor, non-zero is true, and is \
            never recorded; several elements, none, or NaN are errors.
            """,
            example: "x = 1\nvar v0 = 2\nvar v1 = 2\nif (x > 0) < result = v0 > else < result = v1^2 >\ngrad result wrt v0, v1",
            seeAlso: ["while", "comparison", "where"]),
        "print": Topic(
            syntax: ["print E1, E2, ..."],
            text: """
            Prints its values on one line, separated by spaces, even inside loops and after ; (where \
            nothing else prints), as micrograd's lecture prints each training step. A quoted string \
            prints as it is. In run --json each print is an object of its own, written as it runs.
            """,
            example: "w = 1\nrepeat 3 as i < w = w * 2; print \"step\", i, w >",
            seeAlso: ["repeat", "while"]),
        "assignment": Topic(
            syntax: ["X = E", "X += E   (-=, *=, /=)", "X[I] = E   (X[1:3] = E, X[[0, 2]] = E, X[X < 0] = 0, X[I] += E)"],
            text: """
            On a plain tensor, X += E is X = X + E, recorded as TensorFlow and PyTorch record it; on a \
            variable it updates the variable in place, unrecorded (assign_add). X[I] = E rebinds X to a \
            copy with the selected elements replaced, recorded like tf.tensor_scatter_nd_update: the \
            gradient reaches E at those places and the old X everywhere else. E broadcasts to the \
            selection; an index list that selects an element twice is an error. On a variable the \
            assignment is in place and unrecorded. X[I] += E is X[I] = X[I] + E.
            """,
            example: "x = [1, 2, 3]\nwatch x\ny = x * 2\ny += 1\ny[0] = 10\ny[y > 6] = 0\ngrad sum(y) wrt x",
            seeAlso: ["var", "watch"]),
        "comparison": Topic(
            syntax: ["A == B   A != B   A <= B   A >= B", "(A < B)   (A > B)   inside parentheses or brackets", "true  false"],
            text: """
            Elementwise comparisons with broadcasting give untracked tensors of 0 and 1 (TensorFlow's \
            comparisons have no gradient). < and > delimit blocks, so they compare only inside parentheses \
            and brackets, which covers every call and subscript: where(x > 0, log(x), x), x[x < 0], \
            if (loss < 0.01) < ... >. ==, !=, <= and >= compare anywhere. Comparisons bind more loosely \
            than arithmetic and do not chain. true and false are 1 and 0. lt gt le ge eq ne are the same \
            comparisons as functions.
            """,
            example: "x = [-1, 0, 2]\nx >= 0\nwhere(x > 0, x, 0)\nx[x < 1]\ntrue + true",
            seeAlso: ["if", "while", "where"]),
        "operators": Topic(
            syntax: ["A + B   A - B   A * B   A / B   A @ B   A % B   A // B   A ^ B (A ** B)   -A"],
            text: """
            Elementwise with NumPy's broadcasting; @ is numpy.matmul. % and // are NumPy's mod and \
            floor_divide (the remainder has the sign of the divisor); % has TensorFlow's floormod \
            gradient (1 for A, -floor(A / B) for B) and // has none (None). ^ is right-associative and \
            binds tighter than unary minus: -x^2 is -(x^2). Comparisons bind loosest of all.
            """,
            example: "x = [-7, 7]\nx % 3\nx // 3\nwatch x\ngrad sum(x % 3) wrt x",
            seeAlso: ["comparison", "assignment"]),
        "save": Topic(
            syntax: ["save X to \"FILE.npy\"", "save X to \"FILE.csv\"", "X = load(\"FILE.npy\")"],
            text: """
            save writes the value of X to a NumPy .npy file (float64, C order) that numpy.load reads back \
            exactly, or, to a name ending in .csv, as comma-separated numbers that load and np.loadtxt read \
            back exactly: a scalar, a vector (one number a line) or a matrix. load reads a .npy array \
            (float64, float32 or integer, C or Fortran order) or a .csv of numbers; a first line of names \
            is skipped as a header, and one row or one column gives a vector, as np.loadtxt does. \
            Relative names are resolved against the session's directory. To save the whole session, \
            use :save.
            """,
            example: "x = [[1, 2], [3, 4]]\nsave x to \"x.npy\"\ny = load(\"x.npy\")",
            seeAlso: [":save", ":load"]),
        "explain": Topic(
            syntax: ["explain grad Y wrt X"],
            text: """
            Shows the backward pass step by step: each recorded operation between X and Y in reverse \
            order, its local derivative rule, the gradient flowing in and the gradient flowing out, \
            ending at the result that grad Y wrt X gives.
            """,
            example: "x = 2\nwatch x\ny = sin(x^2)\nexplain grad y wrt x",
            seeAlso: ["grad", "graph", "check"]),
        "graph": Topic(
            syntax: ["graph Y", "graph Y to \"FILE.dot\"", "graph Y to \"FILE.svg\"", "graph grad Y wrt X [to \"FILE\"]"],
            text: """
            Draws the computation graph that produced Y: its recorded operations and the watched values \
            and variables they start from, each with its shape and value (the first elements when large). \
            graph grad Y wrt X also shows on every value the gradient of Y with respect to it, as \
            micrograd's draw_dot shows data and grad. graph Y to a .dot file writes Graphviz DOT with the \
            same values and gradients; .svg and .png are written where Graphviz's dot is installed.
            """,
            example: "x = [1, 2]\nwatch x\ny = sum(exp(x) * x)\ngraph y\ngraph grad y wrt x\ngraph y to \"y.dot\"",
            seeAlso: ["tape", "explain"]),
        "check": Topic(
            syntax: ["check grad Y wrt X"],
            text: """
            Compares the tape's gradient with central finite differences of Y, as \
            tf.test.compute_gradient does: it prints the maximum absolute and relative error and a \
            verdict. Use it to test a custom gradient.
            """,
            example: "x = [0.5, 1]\nwatch x\ncheck grad sum(tanh(x)^2) wrt x",
            seeAlso: ["grad", "custom", "explain"]),
        "plot": Topic(
            syntax: ["plot EXPR [, EXPR ...] over X in A..B [and grad]", "plot V [, V ...]", "plot YS [, YS ...] against XS"],
            text: """
            Plots EXPR in the terminal (Unicode braille, or ASCII where Unicode is not available) with X \
            bound to points from A to B. Several expressions are separated by commas and told apart by \
            the legend; and grad adds the derivative of each with respect to X. Points where a curve is \
            NaN or infinite are left out, and a note says how many. plot V draws a vector against its \
            index (a loss history); plot YS against XS draws one vector against another of the same length.
            """,
            example: "plot tanh(x) over x in -3..3 and grad\nplot [5, 3, 2, 1.5, 1.2]\nplot [0, 1, 4, 9] against [0, 1, 2, 3]",
            seeAlso: ["grad"]),
        ":help": Topic(
            syntax: [":help", ":help TOPIC"],
            text: """
            Lists every statement and command, or explains one: its syntax, what it does and an example \
            that runs. Any keyword (wrt, using, along) and any built-in function is a topic.
            """,
            example: ":help grad",
            seeAlso: [":vars"]),
        ":vars": Topic(
            syntax: [":vars"],
            text: """
            A table of every bound name: its kind (tensor, variable, function, custom, tape, None), its \
            shape (or a function's parameters), whether it is tracked (an output of recorded operations), \
            watched or a scoped tape's state, and its first values.
            """,
            example: "x = [1, 2, 3]\nwatch x\nvar w = 2\nf(t) = t^2\n:vars",
            seeAlso: ["watch", "var", "tape"]),
        ":grads": Topic(
            syntax: [":grads"],
            text: """
            Gradient health of the last gradients computed: per source its shape, norm, smallest and \
            largest value (leaving out NaN, as NumPy's nanmin and nanmax do; -inf and inf count) and \
            counts of NaN and Inf, with a flag when a gradient is vanishing \
            (norm < 1e-7), exploding (norm > 1e3) or not finite.
            """,
            example: "x = [1e-5, 2]\nwatch x\ngrad sum(x^3) wrt x\n:grads",
            seeAlso: ["grad", "repeat"]),
        ":save": Topic(
            syntax: [":save \"FILE.tape\"", ":save \"FILE.tape\" without custom"],
            text: """
            Writes the statements that succeeded to a session file, atomically (a temporary file, then a \
            rename, so a crash never leaves half a file). Function and custom-gradient definitions are \
            kept (SaveOptions(experimental_custom_gradients=True)); without custom saves each custom \
            function as a plain function, so a reloaded session differentiates its forward expression.
            """,
            example: "x = [1, 2]\nf(t) = t^2\n:save \"notebook.tape\"",
            seeAlso: [":load", "save"]),
        ":load": Topic(
            syntax: [":load \"FILE.tape\""],
            text: """
            Replays a session file into the live session, statement by statement, as if typed, keeping \
            definitions and custom gradients. When a statement fails, it says which line of the file.
            """,
            example: "x = [1, 2]\n:save \"notebook.tape\"\n:reset\n:load \"notebook.tape\"\nx",
            seeAlso: [":save", ":reset"]),
        ":set": Topic(
            syntax: [":set precision N", ":set color on|off", ":set anomaly on|off", ":set width N", ":set limit N",
                     ":set memory MiB|auto"],
            text: """
            Changes a setting of the session: precision is the digits shown after the point (0 to 17); \
            color turns colour on or off; anomaly (on by default) says which recorded operation first \
            produced a NaN or Inf in a result, forward or backward; width is the line width results are fitted to; \
            limit is the most elements a tensor may have (100 million by default), checked before anything is allocated; \
            memory is the most the values alive may hold, with what their tapes keep (auto, the default: half this \
            machine's memory): an operation that would pass it fails with "not enough memory" and its statement is undone.
            """,
            example: ":set precision 2\nx = [1/3, 2/3]",
            seeAlso: [":vars"]),
        ":export": Topic(
            syntax: [":export tf|jax|torch \"FILE.py\"", "tapebook export --to tf|jax|torch FILE.tape"],
            text: """
            Writes the statements that succeeded as a Python script for TensorFlow, JAX or PyTorch, in float64, \
            printing what tapebook printed: watch becomes tape.watch or requires_grad_, grad becomes \
            tape.gradient, torch.autograd.grad or jax.grad, custom gradients become tf.custom_gradient, \
            torch.autograd.Function or jax.custom_vjp. Groups become lists of tensors, their arithmetic a list \
            comprehension, params -= e assign_sub, an in-place update under torch.no_grad(), or a functional \
            update in JAX. Statements with no counterpart (explain, graph, plot) become comments; random \
            numbers come from tapebook's generator, written in Python.
            """,
            example: "x = [1, 2, 3]\nwatch x\ny = sum(x^2)\n:export torch \"/tmp/tapebook-help-export.py\"",
            seeAlso: [":save"]),
        ":time": Topic(
            syntax: [":time STATEMENT"],
            text: """
            Runs the statement, shows its output, and then the wall time it took.
            """,
            example: ":time y = sum(arange(0, 100000))",
            seeAlso: ["repeat"]),
        ":reset": Topic(
            syntax: [":reset"],
            text: """
            Clears the workspace, the tapes and the history of statements that :save writes: the session \
            is as it was at the start. Settings are kept.
            """,
            example: "x = [1, 2]\n:reset\n:vars",
            seeAlso: ["tape", ":save"]),
        "jupyter": Topic(
            syntax: ["tapebook kernel install [--user] [--prefix P] [--confined]", "tapebook convert FILE.tape --to ipynb",
                     "tapebook convert FILE.ipynb --to tape"],
            text: """
            tapebook is also a Jupyter kernel: after tapebook kernel install, JupyterLab, VS Code and nbconvert \
            offer it as "tapebook". A cell runs its statements in one session, as here; graph and plot show \
            pictures (SVG), matrices show as tables, print writes to the cell's output as the cell runs, Tab \
            completes names, Shift-Tab shows this help for the name under the cursor, and interrupting the \
            kernel (by signal or by message) stops a cell as Ctrl-C does: a loop keeps its finished \
            iterations. A cell is trusted, as what you type here; with --confined, install adds the kernel \
            "tapebook (confined)", whose cells write only as a replayed file does, inside the notebook's \
            folder (see :help trust): for running a notebook you did not write. tapebook convert turns a \
            lesson into a notebook (narration into Markdown, #> lines into outputs) and back.
            """,
            example: "x = [1, 2]\nwatch x\ngraph grad sum(x * x) wrt x",
            seeAlso: ["graph", "plot"]),
        "trust": Topic(
            syntax: ["tapebook run|check|export --trust FILE"],
            text: """
            A session file is untrusted input, like a notebook from the web. What you type here or pass with -e \
            is trusted; what run, check, export and :load read from a file is not: its save ... to, :save, \
            :export and graph ... to write only inside the file's own folder (subfolders too), only files \
            with the extension the statement writes (.npy .csv .tape .py .dot .svg .png), never through a \
            symbolic link, never a hidden name (.git, .bashrc), never a device or pipe. Anything else fails \
            with the path and the rule, and nothing is written. Relative names resolve against the file's \
            folder. Generated Python escapes every control character, dot gets no file name and is stopped \
            with tapebook, and control characters are shown as escapes. --trust lifts the write rules for a \
            file you vouch for.
            """,
            example: "x = [1, 2]\nsave x to \"/tmp/tapebook-help-trust.npy\"",
            seeAlso: [":load", "save", ":save"]),
        "habits": Topic(
            syntax: ["grad y wrt x          y.backward(), tape.gradient(y, x), autograd.grad(y, x)",
                     "watch x               tape.watch(x), x.requires_grad_()",
                     "with tape t < … >     with tf.GradientTape() as t:",
                     "with stop < … >       with torch.no_grad():, tape.stop_recording()",
                     "repeat 10 as i < … >  for i in range(10):",
                     "f(x) = …              def f(x):, lambda x: …",
                     "shape(x)  sum(x)  x   x.shape, x.sum(), x.numpy(), loss.item()"],
            text: """
            tapebook writes TensorFlow's and PyTorch's gradient habits as statements: every statement is             recorded on an implicit tape, grad gives the gradient as a value (nothing is stored on x), and             values have no attributes or methods, only functions and .T. A statement that reads like Python,             TensorFlow or PyTorch gets an error that shows the tapebook way (left above, the habit on the right).
            """,
            example: "x = 3\nwatch x\ny = x^2\ngrad y wrt x\nshape(x)",
            seeAlso: ["grad", "watch", "with", "repeat"]),
        ":quit": Topic(
            syntax: [":quit", "Ctrl-D on an empty line"],
            text: """
            Leaves tapebook. The history of typed lines is kept for the next session; the workspace is \
            not, so :save it first if you want it back.
            """,
            example: ":quit",
            seeAlso: [":save"]),
    ]
}
