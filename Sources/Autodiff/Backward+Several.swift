import TensorCore

/// Gradients with several targets or several sources in one call, as TensorFlow's `tape.gradient`,
/// `tape.jacobian` and `tape.batch_jacobian` take lists, and JAX's `hessian(f, argnums=(0, 1))` gives blocks.
/// A single-use tape is used once per call, however many sources it has.
extension GradientContext {
    /// The gradient of the sum of every target (each weighted by its seed, if any) with respect to each
    /// source: `tape.gradient([y0, y1], x)`.
    public func gradient(of targets: [Value], wrt sources: [Value], seeds: [Value?], tape: Tape? = nil,
                         unconnectedZero: Bool = false) throws -> [Gradient] {
        precondition(targets.count == seeds.count && !targets.isEmpty)
        if targets.count == 1 {
            return try gradient(of: targets[0], wrt: sources, seed: seeds[0], tape: tape, unconnectedZero: unconnectedZero)
        }
        let tape = tape ?? implicitTape
        try use(tape)
        for (target, seed) in zip(targets, seeds) {
            if let seed, (try? Shape.broadcast(seed.shape, target.shape)) != target.shape {
                throw GradientError("the seed has shape \(Shape.describe(seed.shape)) but its target has shape \(Shape.describe(target.shape))")
            }
        }
        let plan = try BackwardPlan(targets: targets, sources: sources, tape: tape)
        let cotangents = try plan.run(seeds: seeds)
        return try sources.map { source in
            let key = source.gradientKey
            if let g = cotangents[key] { return .value(g) }
            if plan.reaches(key) || unconnectedZero { return .value(constant(try Tensor.zeros(source.shape))) }
            return .none(noneReason(targets: targets, source: source, tape: tape))
        }
    }

    /// One reason for several targets: theirs when they all agree, otherwise "not connected".
    func noneReason(targets: [Value], source: Value, tape: Tape) -> NoneReason {
        let reasons = targets.map { noneReason(target: $0, source: source, tape: tape) }
        return reasons.allSatisfy({ $0 == reasons[0] }) ? reasons[0] : .notConnected
    }

    /// One jacobian per source, `Y.shape + X.shape` each, from one plan (one backward pass per element of Y).
    public func jacobians(of target: Value, wrt sources: [Value], tape: Tape? = nil, unconnectedZero: Bool = false) throws -> [Gradient] {
        let tape = tape ?? implicitTape
        try use(tape)
        let plan = try BackwardPlan(targets: [target], sources: sources, tape: tape)
        let keys = sources.map(\.gradientKey)
        let wanted = keys.map { plan.reaches($0) || unconnectedZero }
        var rows: [[Value]] = sources.map { _ in [] }
        if wanted.contains(true) {
            for i in 0..<target.tensor.count {
                try checkInterrupt()
                var scalars = [Double](repeating: 0, count: target.tensor.count)
                scalars[i] = 1
                let cotangents = try plan.run(seeds: [constant(Tensor(shape: target.shape, scalars: scalars))])
                for (s, source) in sources.enumerated() where wanted[s] {
                    let row = try cotangents[keys[s]] ?? constant(Tensor.zeros(source.shape))
                    rows[s].append(try row.reshaped([1] + source.shape))
                }
            }
        }
        return try sources.enumerated().map { s, source in
            guard wanted[s] else { return .none(noneReason(target: target, source: source, tape: tape)) }
            let shape = target.shape + source.shape
            if rows[s].isEmpty { return .value(constant(try Tensor.zeros(shape))) }
            return .value(try Value.concat(rows[s], axis: 0).reshaped(shape))
        }
    }

    /// Per-example jacobians for each source: `[b] + Y.shape[1:] + X.shape[1:]` each.
    public func batchJacobians(of target: Value, wrt sources: [Value], tape: Tape? = nil, unconnectedZero: Bool = false) throws -> [Gradient] {
        let tape = tape ?? implicitTape
        for source in sources {
            guard target.shape.count >= 1, source.shape.count >= 1 else {
                throw GradientError("batch_jacobian needs a batch axis: the target has shape \(Shape.describe(target.shape)) and the source \(Shape.describe(source.shape))")
            }
            guard target.shape[0] == source.shape[0] else {
                throw GradientError("batch_jacobian: the first dimensions of the target (\(target.shape[0])) and the source (\(source.shape[0])) must match")
            }
        }
        try use(tape)
        let plan = try BackwardPlan(targets: [target], sources: sources, tape: tape)
        let keys = sources.map(\.gradientKey)
        let wanted = keys.map { plan.reaches($0) || unconnectedZero }
        let batch = target.shape[0]
        let perExample = target.tensor.count / Swift.max(batch, 1)
        var columns: [[Value]] = sources.map { _ in [] }
        if wanted.contains(true) {
            for j in 0..<perExample {
                try checkInterrupt()
                var scalars = [Double](repeating: 0, count: target.tensor.count)
                for b in 0..<batch { scalars[b * perExample + j] = 1 }
                let cotangents = try plan.run(seeds: [constant(Tensor(shape: target.shape, scalars: scalars))])
                for (s, source) in sources.enumerated() where wanted[s] {
                    let g = try cotangents[keys[s]] ?? constant(Tensor.zeros(source.shape))
                    columns[s].append(try g.expandDims(axis: 1))
                }
            }
        }
        return try sources.enumerated().map { s, source in
            guard wanted[s] else { return .none(noneReason(target: target, source: source, tape: tape)) }
            let shape = [batch] + Array(target.shape.dropFirst()) + Array(source.shape.dropFirst())
            if columns[s].isEmpty { return .value(constant(try Tensor.zeros(shape))) }
            return .value(try Value.concat(columns[s], axis: 1).reshaped(shape))
        }
    }

    /// The blocks of the hessian of a scalar with respect to several sources, row by row:
    /// ∂²/∂w∂w, ∂²/∂w∂b, ∂²/∂b∂w, ∂²/∂b∂b for (w, b). Block (i, j) has shape `Xi.shape + Xj.shape`
    /// (JAX's `hessian(f, argnums=(0, 1))`). A source the target does not reach gives None for its row.
    public func hessianBlocks(of target: Value, wrt sources: [Value], tape: Tape? = nil) throws -> [Gradient] {
        guard target.tensor.count == 1 else {
            throw GradientError("hessian needs a scalar target, got shape \(Shape.describe(target.shape)); use jacobian of a gradient")
        }
        let tape = tape ?? implicitTape
        try use(tape)
        let firsts = try withRecording(tape.bit) {
            try computeGradients(of: target, wrt: sources, seed: nil, tape: tape, unconnectedZero: false, observer: nil)
        }
        var blocks: [Gradient] = []
        for first in firsts {
            guard let g = first.value else {
                blocks += sources.map { _ in first }
                continue
            }
            let plan = try BackwardPlan(targets: [g], sources: sources, tape: tape)
            var rows: [[Value]] = sources.map { _ in [] }
            for i in 0..<g.tensor.count {
                try checkInterrupt()
                var scalars = [Double](repeating: 0, count: g.tensor.count)
                scalars[i] = 1
                let cotangents = try plan.run(seeds: [constant(Tensor(shape: g.shape, scalars: scalars))])
                for (j, source) in sources.enumerated() {
                    let row = try cotangents[source.gradientKey] ?? constant(Tensor.zeros(source.shape))
                    rows[j].append(try row.reshaped([1] + source.shape))
                }
            }
            for (j, source) in sources.enumerated() {
                let shape = g.shape + source.shape
                blocks.append(rows[j].isEmpty ? .value(constant(try Tensor.zeros(shape)))
                                              : .value(try Value.concat(rows[j], axis: 0).reshaped(shape)))
            }
        }
        return blocks
    }
}
