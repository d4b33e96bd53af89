import XCTest
@testable import TensorCore
import CBLAS
import CPortable
import Synchronization

/// Kernels shared between the calling thread and the helper thread: every element written once, the same
/// bits as on one thread, and what a chunk finds reported.
final class SharedChunksTests: XCTestCase {
    /// Marks each element of [start, end) once; a second visit of an element is counted.
    private struct Marks {
        let marks: UnsafeMutablePointer<Int>
    }

    /// Runs one job over `count` elements in chunks of `chunk`: every element is visited exactly once.
    private func visits(count: Int, chunk: Int) -> [Int] {
        let marks = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
        defer { marks.deallocate() }
        marks.initialize(repeating: 0, count: max(count, 1))
        _ = SharedChunks.run(Marks(marks: marks), count: count, chunk: chunk) { job, start, end in
            let marks = job!.assumingMemoryBound(to: Marks.self).pointee.marks
            for i in start..<end { marks[i] += 1 }
            return 0
        }
        return Array(UnsafeBufferPointer(start: marks, count: count))
    }

    func testEveryElementIsVisitedOnce() {
        for (count, chunk) in [(0, 8), (1, 8), (7, 8), (8, 8), (9, 8), (100, 1), (1000, 7), (1 << 16, 1 << 13), (12_345, 1000)] {
            XCTAssertEqual(visits(count: count, chunk: chunk), [Int](repeating: 1, count: count), "count \(count), chunk \(chunk)")
        }
    }

    /// Many jobs in a row, as a training loop asks them: each sees only its own chunks (a chunk claimed for
    /// one job is never run for the next).
    func testJobsInARowKeepTheirChunks() {
        for job in 0..<3000 {
            let count = 64 + job % 200
            let seen = visits(count: count, chunk: 16)
            if seen != [Int](repeating: 1, count: count) { return XCTFail("job \(job): \(seen)") }
        }
    }

    private static let chunksStarted = Atomic<Int>(0)

    /// The helper thread really runs chunks: the caller's first chunk waits until another thread has started
    /// the second, which only the helper can (the caller is still in its first).
    func testTheHelperRunsChunks() throws {
        guard SharedChunks.isAvailable else { throw XCTSkip("one core: there is no helper") }
        struct Caller { let thread: pthread_t }
        Self.chunksStarted.store(0, ordering: .sequentiallyConsistent)
        let helped = SharedChunks.run(Caller(thread: pthread_self()), count: 2, chunk: 1) { job, start, _ in
            let caller = job!.assumingMemoryBound(to: Caller.self).pointee.thread
            if pthread_equal(pthread_self(), caller) == 0 {
                SharedChunksTests.chunksStarted.add(1, ordering: .sequentiallyConsistent)
                return 1
            }
            // The caller takes chunk 0 first; it leaves once the helper has taken chunk 1. Each round yields the
            // core to the helper; the bound only turns a missing helper into a failure instead of a hang.
            var rounds = 0
            while start == 0 && SharedChunksTests.chunksStarted.load(ordering: .sequentiallyConsistent) == 0 && rounds < 50_000_000 {
                sched_yield()
                rounds += 1
            }
            return 0
        }
        XCTAssertTrue(helped, "the second chunk ran on another thread")
    }

    /// What a chunk reports reaches the caller, whichever thread ran the chunk.
    func testAReportFromAnyChunkArrives() {
        struct Flag { let at: Int }
        for at in [0, 8191, 8192, 40_000, 65_535] {
            let found = SharedChunks.run(Flag(at: at), count: 65_536, chunk: 8192) { job, start, end in
                let at = job!.assumingMemoryBound(to: Flag.self).pointee.at
                return (start..<end).contains(at) ? 1 : 0
            }
            XCTAssertTrue(found, "flag at \(at)")
        }
        XCTAssertFalse(SharedChunks.run(Flag(at: -1), count: 65_536, chunk: 8192) { _, _, _ in 0 })
    }

    private func randomTensor(_ shape: [Int], seed: UInt64) throws -> Tensor {
        var random = RandomGenerator(seed: seed)
        return try random.tensor(shape: shape, normal: true)
    }

    /// Elementwise functions of large tensors (shared) against the same kernel on one thread.
    func testSharedElementwiseKernelsAreTheOneThreadKernelsToTheBit() throws {
        let count = SharedChunks.threshold * 2 + 5
        let x = try randomTensor([count], seed: 3), y = try randomTensor([count], seed: 4)
        for function in [UnaryFunction.tanh, .exp, .sigmoid, .square, .relu] {
            let shared = x.map(function).scalars
            var alone = [Double](repeating: .nan, count: count)
            x.withUnsafeBufferPointer { px in alone.withUnsafeMutableBufferPointer { _ = Tensor.apply(function, px, $0) } }
            XCTAssertEqual(shared.map(\.bitPattern), alone.map(\.bitPattern), "\(function)")
        }
        for function in [BinaryFunction.add, .multiply, .tanhGrad, .power] {
            let shared = try Tensor.zip(x, y, function).scalars
            var alone = [Double](repeating: .nan, count: count)
            x.withUnsafeBufferPointer { px in
                y.withUnsafeBufferPointer { py in
                    alone.withUnsafeMutableBufferPointer { _ = Tensor.combine(function, px, 1, py, 1, $0, count) }
                }
            }
            XCTAssertEqual(shared.map(\.bitPattern), alone.map(\.bitPattern), "\(function)")
            let scaled = try Tensor.zip(Tensor(0.25), y, function).scalars
            XCTAssertEqual(scaled[count - 1].bitPattern, try Tensor.zip(Tensor(0.25), Tensor(y.scalars[count - 1]), function).scalars[0].bitPattern)
        }
    }

    /// A broadcast sum of a large matrix and a row, a column or a block, shared by rows, against the sum
    /// element by element.
    func testSharedBroadcastRowsAreRight() throws {
        let a = try randomTensor([300, 257], seed: 5)
        for other in [[257], [300, 1], [1, 257], [2, 300, 257]] {
            let b = try randomTensor(other, seed: 6)
            let sum = try Tensor.zip(a, b, .add)
            let shape = try Shape.broadcast(a.shape, other)
            XCTAssertEqual(sum.shape, shape)
            let x = try a.broadcast(to: shape).scalars, y = try b.broadcast(to: shape).scalars
            XCTAssertEqual(sum.scalars.map(\.bitPattern), zip(x, y).map { ($0 + $1).bitPattern }, "\(other)")
        }
    }

    /// A non-finite element is found in whichever chunk it lies, by the map that writes it and by the check
    /// of a product's result.
    func testNonFiniteElementsAreFoundInAnyChunk() throws {
        let count = SharedChunks.threshold * 2
        for at in [0, count / 2 + 1, count - 1] {
            var scalars = [Double](repeating: 1, count: count)
            scalars[at] = -1
            let x = Tensor(shape: [count], scalars: scalars)
            XCTAssertTrue(x.mapNotingNonFinite(.log).hasNonFinite, "log(-1) at \(at)")
            scalars[at] = .infinity
            XCTAssertTrue(Tensor(shape: [count], scalars: scalars).hasNonFinite, "inf at \(at)")
        }
        XCTAssertFalse(Tensor(shape: [count], scalars: [Double](repeating: 1, count: count)).hasNonFinite)
    }

    /// A large product split by rows between the threads is OpenBLAS's product of the whole, to the bit:
    /// each half is a whole number of its row blocks. Shapes with rows past a block of 4, more terms than
    /// one block (256), odd columns, both transposes.
    func testSplitProductsAreWholeProductsToTheBit() throws {
        guard let dgemm = BLAS.dgemm else { throw XCTSkip("OpenBLAS is not installed (make deps installs it)") }
        var checked = 0
        for (m, k, n) in [(256, 64, 256), (64, 256, 256), (130, 300, 61), (1001, 33, 40), (17, 1000, 70)] {
            XCTAssertGreaterThanOrEqual(m * n * k, 1 << 20)
            for ta in [false, true] {
                for tb in [false, true] {
                    let a = try randomTensor(ta ? [k, m] : [m, k], seed: UInt64(m + k)), b = try randomTensor(tb ? [n, k] : [k, n], seed: UInt64(n))
                    var whole = [Double](repeating: 0, count: m * n), split = [Double](repeating: .nan, count: m * n)
                    a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            whole.withUnsafeMutableBufferPointer { pc in
                                dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, Int32(m), Int32(n),
                                      Int32(k), 1, pa.baseAddress, Int32(ta ? m : k), pb.baseAddress, Int32(tb ? k : n), 1, pc.baseAddress, Int32(n))
                            }
                            split.withUnsafeMutableBufferPointer { pc in
                                BLAS.multiply(dgemm, ta, tb, m: m, n: n, k: k, pa.baseAddress!, lda: ta ? m : k, pb.baseAddress!,
                                              ldb: tb ? k : n, pc.baseAddress!)
                            }
                        }
                    }
                    XCTAssertEqual(split.map(\.bitPattern), whole.map(\.bitPattern), "m=\(m) k=\(k) n=\(n) ta=\(ta) tb=\(tb)")
                    checked += 1
                }
            }
        }
        XCTAssertEqual(checked, 20)
    }

    /// The same into rows of a wider matrix (`ldc`), added to what C holds (β = 1, as conv2d's filter gradient
    /// sums its chunks) and written over it (β = 0): the columns past n are left alone.
    func testSplitProductsIntoWiderRowsAddOrWrite() throws {
        guard let dgemm = BLAS.dgemm else { throw XCTSkip("OpenBLAS is not installed (make deps installs it)") }
        let (m, k, n, ldc) = (144, 300, 32, 40)
        let a = try randomTensor([k, m], seed: 12), b = try randomTensor([k, n], seed: 13), start = try randomTensor([m, ldc], seed: 14)
        for adding in [true, false] {
            var whole = start.scalars, split = start.scalars
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    whole.withUnsafeMutableBufferPointer { pc in
                        dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, pa.baseAddress, Int32(m),
                              pb.baseAddress, Int32(n), adding ? 1 : 0, pc.baseAddress, Int32(ldc))
                    }
                    split.withUnsafeMutableBufferPointer { pc in
                        BLAS.multiply(dgemm, true, false, m: m, n: n, k: k, pa.baseAddress!, lda: m, pb.baseAddress!, ldb: n, pc.baseAddress!,
                                      ldc: ldc, adding: adding)
                    }
                }
            }
            XCTAssertEqual(split.map(\.bitPattern), whole.map(\.bitPattern), "adding \(adding)")
        }
    }

    /// `thinProduct` split by rows between the threads is `thinProduct` of the whole, to the bit.
    func testSplitThinProductsAreWholeThinProductsToTheBit() throws {
        for (m, k, n) in [(256, 256, 10), (256, 10, 256), (1000, 64, 12), (36, 256, 30)] {
            XCTAssertGreaterThanOrEqual(m * n * k, 1 << 18)
            for ta in [false, true] {
                for tb in [false, true] {
                    let a = try randomTensor(ta ? [k, m] : [m, k], seed: 7), b = try randomTensor(tb ? [n, k] : [k, n], seed: 8)
                    var whole = [Double](repeating: .nan, count: m * n), split = [Double](repeating: .nan, count: m * n)
                    a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            whole.withUnsafeMutableBufferPointer { pc in
                                _ = Tensor.thinProduct(pa.baseAddress!, ta ? m : k, ta, pb.baseAddress!, tb ? k : n, tb, pc.baseAddress!, m, n, k)
                            }
                            split.withUnsafeMutableBufferPointer { pc in
                                _ = SharedChunks.thinProduct(pa.baseAddress!, ta ? m : k, ta, pb.baseAddress!, tb ? k : n, tb, pc.baseAddress!, m, n, k)
                            }
                        }
                    }
                    XCTAssertEqual(split.map(\.bitPattern), whole.map(\.bitPattern), "m=\(m) k=\(k) n=\(n) ta=\(ta) tb=\(tb)")
                }
            }
        }
    }
}
