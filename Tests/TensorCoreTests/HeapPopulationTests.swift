import XCTest
@testable import TensorCore
#if canImport(Glibc)
import Glibc
#endif

/// `Memory.populateHeap`: which pages, and that populating makes them present without changing them.
final class HeapPopulationTests: XCTestCase {
    /// From another thread, pages written before keep what they hold and pages never written become present
    /// (and read as zeros).
    func testPopulatingMakesPagesPresentWithoutChangingThem() throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE))), pages = 64
        let block = UnsafeMutableRawPointer.allocate(byteCount: (pages + 1) * page, alignment: 8)
        defer { block.deallocate() }
        // Whole pages inside the block; none present to begin with.
        let first = (UInt(bitPattern: block) + UInt(page - 1)) & ~UInt(page - 1)
        let start = UnsafeMutableRawPointer(bitPattern: first)!
        XCTAssertEqual(madvise(start, pages * page, MADV_DONTNEED), 0)
        var residency = [UInt8](repeating: 0, count: pages)
        func presentPages() -> [Bool] {
            XCTAssertEqual(mincore(start, pages * page, &residency), 0)
            return residency.map { $0 & 1 == 1 }
        }
        let written = pages / 2
        let doubles = start.bindMemory(to: Double.self, capacity: pages * page / 8)
        for i in 0..<written * page / 8 { doubles[i] = Double(i) + 0.5 }
        XCTAssertEqual(presentPages().filter { $0 }.count, written, "only the written half is present")

        let range = UnsafeMutablePointer<UInt>.allocate(capacity: 2)
        defer { range.deallocate() }
        range[0] = first
        range[1] = first + UInt(pages * page)
        var thread = pthread_t()
        XCTAssertEqual(pthread_create(&thread, nil, { range in
            let bounds = range!.assumingMemoryBound(to: UInt.self)
            Memory.populate(from: bounds[0], to: bounds[1])
            return nil
        }, range), 0)
        pthread_join(thread, nil)

        XCTAssertEqual(presentPages().filter { $0 }.count, pages, "every page present")
        XCTAssertTrue((0..<written * page / 8).allSatisfy { doubles[$0] == Double($0) + 0.5 }, "what was written is unchanged")
        XCTAssertTrue((written * page / 8..<pages * page / 8).allSatisfy { doubles[$0] == 0 }, "the rest reads as zeros")
    }

    /// The range runs from the start-up top, in whole 2 MiB pages, to `ahead` past the bytes taken since,
    /// and stops at the heap's end.
    func testThePopulatedRangeIsTheHeapsNextPages() {
        let mib: UInt = 1 << 20
        let heap = (top: 101 * mib + 4096, end: 165 * mib, bytesInUse: 300_000)
        let range = Memory.populationRange(heap: heap, bytesInUse: 300_000 + 3 << 20, ahead: 4 << 20)
        XCTAssertEqual(range.from, 101 * mib + 4096, "the small page that holds the start-up top (the heap may start just below it)")
        XCTAssertEqual(range.to, 110 * mib, "3 MiB taken and 4 ahead, to the end of their 2 MiB page")
        XCTAssertEqual(Memory.populationRange(heap: heap, bytesInUse: 300_000 + 62 << 20, ahead: 4 << 20).to, 165 * mib, "not past the end")
        XCTAssertEqual(Memory.populationRange(heap: heap, bytesInUse: 0, ahead: 0).to, 102 * mib, "less in use than at start-up")
    }

    /// On the process's own heap, as tapebook sets it up: the kernel takes the range (a range that began
    /// below the heap was refused whole with ENOMEM, and nothing was populated).
    func testTheProcessHeapIsPopulated() {
        Memory.configureProcessHeap()
        let result = Memory.populateHeap(ahead: 1 << 20)
        XCTAssertTrue(result == 0 || result == EINVAL, "madvise: \(String(cString: strerror(result)))")
    }
}
