/// How much of the recorded graph a value still holds from some point on: the loop-history note asks it
/// of each name after a loop, to tell a name that carries every iteration's recordings into the next.
extension GradientContext {
    /// The serial number of the newest value so far; values made later have larger ones.
    public var currentSerial: Int { lastSerial }

    /// The recorded operations made after serial `start` that `roots` still reach, and the oldest of
    /// their serial numbers. Deferred gradients are not recorded by the walk: each counts as one.
    public func recordedSince(_ start: Int, reachableFrom roots: [Value]) -> (count: Int, oldest: Int?) {
        // NOTE: marks values (`planSlot`) instead of hashing them, as `BackwardPlan` does, and puts every
        // mark back before returning: a loop of 20,000 steps leaves a chain of 80,000 values to walk.
        var pending = roots.filter { $0.serial > start }
        var visited: [Value] = []
        var count = 0
        var oldest: Int?
        while let v = pending.popLast() {
            guard v.planSlot == BackwardPlan.unvisited else { continue }
            v.planSlot = BackwardPlan.visited
            visited.append(v)
            guard let node = v.storedNode else {
                if v.deferred != nil { count += 1; oldest = min(oldest ?? v.serial, v.serial) }
                continue
            }
            count += 1
            oldest = min(oldest ?? v.serial, v.serial)
            for input in node.inputs where input.serial > start { pending.append(input) }
        }
        for v in visited { v.planSlot = BackwardPlan.unvisited }
        return (count, oldest)
    }
}
