/// How much of the recorded graph a value still holds from some point on: the loop-history note asks it
/// of each name after a loop, to tell a name that carries every iteration's recordings into the next.
extension GradientContext {
    /// The serial number of the newest value so far; values made later have larger ones.
    public var currentSerial: Int { lastSerial }

    /// The recorded operations made after serial `start` that `roots` still reach, and the oldest of
    /// their serial numbers. Deferred gradients are not recorded by the walk: each counts as one.
    public func recordedSince(_ start: Int, reachableFrom roots: [Value]) -> (count: Int, oldest: Int?) {
        // NOTE: marks values (`planSlot`) instead of hashing them, as `BackwardPlan` does, and keeps the values
        // it marked to put the marks back: a second walk over a 20,000-step loop's 80,000 values cost as much as
        // the first, the list costs 8 bytes a value for a moment. Values stay unretained: the roots keep them alive.
        var pending: [Unmanaged<Value>] = []
        var marked: [Unmanaged<Value>] = []
        var count = 0
        var oldest = Int.max
        for r in roots where r.serial > start { pending.append(.passUnretained(r)) }
        while let next = pending.popLast() {
            next._withUnsafeGuaranteedRef { v in
                guard v.planSlot == BackwardPlan.unvisited else { return }
                v.planSlot = BackwardPlan.visited
                marked.append(next)
                let isRecorded = v.storedNode != nil
                if isRecorded || v.deferred != nil {
                    count += 1
                    oldest = min(oldest, v.serial)
                }
                guard isRecorded else { return }
                for i in 0..<v.recordedInputCount {
                    let input = v.recordedInput(i)
                    if input._withUnsafeGuaranteedRef({ $0.serial > start }) { pending.append(input) }
                }
            }
        }
        for v in marked { v._withUnsafeGuaranteedRef { $0.planSlot = BackwardPlan.unvisited } }
        return (count, oldest == Int.max ? nil : oldest)
    }
}
