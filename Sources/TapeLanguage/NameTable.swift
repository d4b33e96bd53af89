/// A table from names to elements, for the workspace, function scopes and built-ins.
///
/// NOTE: not a Dictionary: Dictionary hashes a String key with SipHash on every lookup, and a loop's
/// statements look names up and bind them on every pass (W2's step reads `sin`, `y` and `x` and binds `y`:
/// five hashes). FNV-1a over the few UTF-8 bytes of a name costs a few nanoseconds. Names are kept in the
/// order they were first bound, which is also the order of iteration.
struct NameTable<Element>: Sequence, ExpressibleByDictionaryLiteral {
    private(set) var keys: [String] = []
    private(set) var values: [Element] = []
    /// Each name's hash, beside it: a look-up compares hashes and compares strings only where the hashes
    /// agree (comparing two different strings is a call into the standard library's slow path).
    private var hashes: [Int] = []
    /// Open addressing with linear probing: a position in `keys`, or -1 for an empty bucket. Its size is a
    /// power of two, at least twice the number of names. Empty while there are few names: a function's
    /// scope or a small workspace is searched name by name, which is quicker than hashing.
    private var buckets: [Int32] = []
    private static var fewNames: Int { 8 }

    init() {}

    init(dictionaryLiteral elements: (String, Element)...) {
        for (name, element) in elements { self[name] = element }
    }

    /// Each name bound to the element beside it (a later duplicate replaces an earlier one).
    init(names: [String], elements: [Element]) {
        for (name, element) in zip(names, elements) { self[name] = element }
    }

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }

    subscript(name: String) -> Element? {
        get { position(of: name).map { values[$0] } }
        set {
            if let element = newValue { updateValue(element, forKey: name) } else { removeValue(forKey: name) }
        }
    }

    /// Binds `name`; returns the element it replaced, if any.
    @discardableResult
    mutating func updateValue(_ element: Element, forKey name: String) -> Element? {
        if let i = position(of: name) {
            let old = values[i]
            values[i] = element
            return old
        }
        let (hash, isASCII) = Self.hash(name)
        keys.append(name)
        values.append(element)
        hashes.append(hash)
        if !isASCII { nonASCIIKeys += 1 }
        if keys.count <= Self.fewNames {
            return nil
        } else if buckets.count < 2 * keys.count {
            var capacity = 16
            while capacity < 4 * keys.count { capacity *= 2 }
            rebuild(capacity: capacity)
        } else {
            insert(keys.count - 1)
        }
        return nil
    }

    /// Unbinds `name`; returns its element, if it was bound. Rare (`:clear` aside, releasing tapes), so the
    /// buckets are rebuilt.
    @discardableResult
    mutating func removeValue(forKey name: String) -> Element? {
        guard let i = position(of: name) else { return nil }
        if !Self.hash(keys[i]).isASCII { nonASCIIKeys -= 1 }
        keys.remove(at: i)
        hashes.remove(at: i)
        let old = values.remove(at: i)
        if keys.count <= Self.fewNames { buckets = [] } else { rebuild(capacity: buckets.count) }
        return old
    }

    /// Lets `body` change each element in place; the names and their order stay.
    // NOTE: not a loop over the table and a store by name: the iterator boxes each pair and each store hashes
    // the name again (an optimizer's step did that for every name of the workspace, for each variable).
    mutating func updateEach(_ body: (inout Element) -> Void) {
        for i in values.indices { body(&values[i]) }
    }

    func makeIterator() -> AnyIterator<(key: String, value: Element)> {
        var i = 0
        let keys = keys, values = values
        return AnyIterator {
            guard i < keys.count else { return nil }
            defer { i += 1 }
            return (keys[i], values[i])
        }
    }

    /// FNV-1a over the name's UTF-8 bytes, and whether they are all ASCII: one pass over contiguous bytes.
    private static func hash(_ name: String) -> (value: Int, isASCII: Bool) {
        var name = name
        return name.withUTF8 { bytes in
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            var high: UInt8 = 0
            for byte in bytes {
                h = (h ^ UInt64(byte)) &* 0x100_0000_01b3
                high |= byte
            }
            return (Int(truncatingIfNeeded: h ^ (h >> 29)), high < 0x80)
        }
    }

    // NOTE: Swift compares strings by canonical equivalence ("e\u{301}" == "é", "\u{212A}" == "K"), which
    // bytes cannot hash. Names are ASCII almost always; while any name involved is not, lookups compare
    // with every name, as a Dictionary would find them.
    private var nonASCIIKeys = 0

    private func position(of name: String) -> Int? {
        if buckets.isEmpty { return keys.firstIndex(of: name) }
        let (hash, isASCII) = Self.hash(name)
        if nonASCIIKeys > 0 || !isASCII { return keys.firstIndex(of: name) }
        let mask = buckets.count - 1
        var b = hash & mask
        while true {
            let i = buckets[b]
            if i < 0 { return nil }
            if hashes[Int(i)] == hash && keys[Int(i)] == name { return Int(i) }
            b = (b + 1) & mask
        }
    }

    private mutating func insert(_ i: Int) {
        let mask = buckets.count - 1
        var b = hashes[i] & mask
        while buckets[b] >= 0 { b = (b + 1) & mask }
        buckets[b] = Int32(i)
    }

    private mutating func rebuild(capacity: Int) {
        buckets = [Int32](repeating: -1, count: capacity)
        for i in keys.indices { insert(i) }
    }
}
