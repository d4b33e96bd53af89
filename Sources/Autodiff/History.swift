/// How much of the recorded graph a value still holds from some point on: the loop-history note asks it
/// of each name after a loop, to tell a name that carries every iteration's recordings into the next.
extension GradientContext {
    /// The serial number of the newest value so far; values made later have larger ones.
    public var currentSerial: Int { lastSerial }

    /// The recorded operations made after serial `start` that `roots` still reach, and the oldest of
    /// their serial numbers. Deferred gradients are not recorded by the walk: each counts as one.
    public func recordedSince(_ start: Int, reachableFrom roots: [Value]) -> (count: Int, oldest: Int?) {
        var pending = roots.filter { $0.serial > start }
        var seen = Set<ObjectIdentifier>()
        var count = 0
        var oldest: Int?
        while let v = pending.popLast() {
            guard seen.insert(ObjectIdentifier(v)).inserted else { continue }
            guard let node = v.storedNode else {
                if v.deferred != nil { count += 1; oldest = min(oldest ?? v.serial, v.serial) }
                continue
            }
            count += 1
            oldest = min(oldest ?? v.serial, v.serial)
            for input in node.inputs where input.serial > start { pending.append(input) }
        }
        return (count, oldest)
    }
}
