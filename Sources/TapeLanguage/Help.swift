import TapeSyntax

/// `:help` and `:help TOPIC`.
enum Help {
    static func text(topic: String?, width: Int) throws -> String {
        guard let topic else { return overview }
        if let entry = topics[topic] { return entry }
        if let b = Builtins.table[topic] { return "\(b.usage)\n  \(b.summary)" }
        throw EvaluationError("no help on '\(topic)'", at: SourceSpan(at: SourceLocation(offset: 0, line: 1, column: 1)),
                              note: closestName(to: topic, among: Array(topics.keys) + Builtins.names).map { "did you mean '\($0)'?" } ?? "see :help")
    }

    static let overview = """
    statements
      x = [1, 2, 3]              bind a name (a, b = ... binds several)
      watch x                    track x on the tape (watch x on t: one tape)
      var w = randn([3])         a trainable variable; w -= lr * g updates it unrecorded
      grad y wrt x               ∂sum(y)/∂x  [seed S] [unconnected zero] [using t]
      jacobian y wrt x           also batch_jacobian, hessian, jvp y wrt x along v
      with stop < ... >          run a block with recording stopped
      with tape t [persistent] [nowatch] < ... >
      tape, tape reset           list or empty the implicit tape
      f(x) = x^2 + 1             a function; f(x) = < a = x^2; a + 1 > with a block
      custom f(x) = ... grad(dy) = ...   a function with its own gradient
      repeat N [as i] [show loss] < ... >
      save x to "x.npy"          load("x.npy") reads .npy and .csv
    commands
      :help [topic]  :vars  :grads  :save "f.tape" [without custom]  :load "f.tape"
      :set precision N | color on|off | anomaly on|off   :time STATEMENT  :reset  :quit
    """

    static let topics: [String: String] = [:]
}
