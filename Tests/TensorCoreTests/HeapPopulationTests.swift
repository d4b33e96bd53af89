import XCTest
@testable import TensorCore
#if canImport(Glibc)
import Glibc
#endif

/// `Memory.populateHeap` faults in the heap's next pages, from another thread, without changing what it holds.
final class HeapPopulationTests: XCTestCase {
    func testPopulatingKeepsWhatTheHeapHoldsAndMakesItsNextPagesResident() throws {
        Memory.configureProcessHeap()
        let count = 1 << 17  // 1 MiB of doubles each
        let held = UnsafeMutablePointer<Double>.allocate(capacity: count)
        defer { held.deallocate() }
        for i in 0..<count { held[i] = Double(i) }
        // Taken from the heap's top and not written yet.
        let fresh = UnsafeMutablePointer<Double>.allocate(capacity: count)
        defer { fresh.deallocate() }

        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = UInt(bitPattern: fresh) & ~UInt(page - 1)
        let pages = (Int(UInt(bitPattern: fresh + count) - first) + page - 1) / page
        var residency = [UInt8](repeating: 0, count: pages)
        func absentPages() -> Int {
            XCTAssertEqual(mincore(UnsafeMutableRawPointer(bitPattern: first), pages * page, &residency), 0)
            return residency.filter { $0 & 1 == 0 }.count
        }
        guard absentPages() > 0 else { throw XCTSkip("the heap gave memory already in use before: nothing to populate") }

        var thread = pthread_t()
        XCTAssertEqual(pthread_create(&thread, nil, { _ in Memory.populateHeap(ahead: 4 << 20); return nil }, nil), 0)
        pthread_join(thread, nil)

        XCTAssertTrue((0..<count).allSatisfy { held[$0] == Double($0) }, "what the heap held is unchanged")
        XCTAssertEqual(absentPages(), 0, "every page of the next block is resident")
    }
}
