/// Array allocation for the small arrays every operation makes (shapes, strides, small tensors' elements).
///
// NOTE: `init(repeating:count:)` and `init(unsafeUninitializedCapacity:initializingWith:)` allocate through
// a standard-library function that is not specialized and looks the storage class up in the runtime's
// metadata table at every call. Building from `repeatElement` allocates through the specialized path; it
// writes each element one at a time, so large arrays keep the standard path, which has no such per-call cost
// to speak of beside their size. Measurements: docs/DECISIONS.md, "W10: tensor core and Value operations".
extension Array where Element: AdditiveArithmetic {
    /// Up to this many elements, the specialized path.
    @usableFromInline static var specializedAllocationLimit: Int { 256 }

    /// `count` copies of `value`, as `init(repeating:count:)`, without its per-call metadata look-up.
    @inlinable
    public init(specializedRepeating value: Element, count: Int) {
        if count <= Self.specializedAllocationLimit {
            self.init(repeatElement(value, count: count))
        } else {
            self.init(repeating: value, count: count)
        }
    }

    /// `count` elements, every one of which `body` must write (large arrays are not zeroed first), as
    /// `init(unsafeUninitializedCapacity:initializingWith:)` with every element initialized.
    @inlinable
    public init(specializedUninitializedCount count: Int, writingEvery body: (UnsafeMutableBufferPointer<Element>) throws -> Void) rethrows {
        if count <= Self.specializedAllocationLimit {
            self.init(repeatElement(.zero, count: count))
            try withUnsafeMutableBufferPointer { try body($0) }
        } else {
            try self.init(unsafeUninitializedCapacity: count) { buffer, initialized in
                try body(buffer)
                initialized = count
            }
        }
    }
}
