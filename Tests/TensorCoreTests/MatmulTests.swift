import XCTest
import Foundation
@testable import TensorCore
import CBLAS

/// Products large enough to go through OpenBLAS (dgemm, and dgemv for one row or column) against a plain loop.
final class MatmulTests: XCTestCase {
    static func naive(_ a: Tensor, _ b: Tensor, _ ta: Bool, _ tb: Bool) -> Tensor {
        let (ar, ac) = (a.shape[0], a.shape[1]), (br, bc) = (b.shape[0], b.shape[1])
        let (m, k) = ta ? (ac, ar) : (ar, ac)
        let n = tb ? br : bc
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for p in 0..<k {
            out[i * n + j] += (ta ? a.scalars[p * ac + i] : a.scalars[i * ac + p]) * (tb ? b.scalars[j * bc + p] : b.scalars[p * bc + j])
        } } }
        return Tensor(shape: [m, n], scalars: out)
    }

    /// matmul zeroes C itself and asks OpenBLAS for C + A·B: the same bits as OpenBLAS's own C = A·B (β = 0).
    func testProductsThroughOpenBLASAreItsProductsToTheBit() throws {
        guard let dgemm = BLAS.dgemm else { throw XCTSkip("OpenBLAS is not installed (make deps installs it)") }
        var random = RandomGenerator(seed: 17)
        for (m, k, n, ta, tb) in [(256, 64, 256, false, false), (64, 256, 256, true, false), (33, 70, 45, false, true)] {
            let a = try random.tensor(shape: ta ? [k, m] : [m, k], normal: true)
            let b = try random.tensor(shape: tb ? [n, k] : [k, n], normal: true)
            var expected = [Double](repeating: .nan, count: m * n)
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    expected.withUnsafeMutableBufferPointer { pc in
                        dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k),
                              1, pa.baseAddress, Int32(ta ? m : k), pb.baseAddress, Int32(tb ? k : n), 0, pc.baseAddress, Int32(n))
                    }
                }
            }
            let product = try Tensor.matmul(a, b, transposeA: ta, transposeB: tb)
            XCTAssertEqual(product.scalars.map(\.bitPattern), expected.map(\.bitPattern), "m=\(m) k=\(k) n=\(n) ta=\(ta) tb=\(tb)")
        }
    }

    func testLargeProductsMatchAPlainLoop() throws {
        var random = RandomGenerator(seed: 7)
        // (m, k, n): a matrix-vector, a vector-matrix and a full product, each above the plain-loop size.
        for (m, k, n) in [(70, 80, 1), (1, 80, 70), (70, 81, 1), (1, 81, 69), (40, 50, 30)] {
            for ta in [false, true] {
                for tb in [false, true] {
                    let a = try random.tensor(shape: ta ? [k, m] : [m, k], normal: true)
                    let b = try random.tensor(shape: tb ? [n, k] : [k, n], normal: true)
                    let product = try Tensor.matmul(a, b, transposeA: ta, transposeB: tb)
                    let expected = Self.naive(a, b, ta, tb)
                    XCTAssertEqual(product.shape, expected.shape)
                    for (x, y) in zip(product.scalars, expected.scalars) {
                        XCTAssertEqual(x, y, accuracy: 1e-9 * max(1, abs(y)), "m=\(m) k=\(k) n=\(n) ta=\(ta) tb=\(tb)")
                    }
                }
            }
        }
    }
}

/// Products with few columns or few terms (`Tensor.thinProduct`): each element one chain of fused
/// multiply-adds over the terms in order.
final class ThinProductTests: XCTestCase {
    /// op(A)·op(B) as a chain of fused multiply-adds per element, in the order of the terms.
    static func chained(_ a: Tensor, _ ta: Bool, _ b: Tensor, _ tb: Bool) -> Tensor {
        let (m, k) = ta ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let n = tb ? b.shape[0] : b.shape[1]
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for p in 0..<k {
                s = s.addingProduct(ta ? a.scalars[p * m + i] : a.scalars[i * k + p], tb ? b.scalars[j * k + p] : b.scalars[p * n + j])
            }
            out[i * n + j] = s
        } }
        return Tensor(shape: [m, n], scalars: out)
    }

    /// Every edge: rows past a multiple of 4, columns past a multiple of 12, 8 and 4 (blocks of 12, 8 and 4
    /// columns), few terms and many columns, A as stored and transposed; the same to the bit as the chain,
    /// and within rounding of the plain loop.
    func testThinProductsAreTheChainOfFusedMultiplyAdds() throws {
        var random = RandomGenerator(seed: 23)
        let shapes = [(256, 256, 10), (256, 10, 256), (128, 256, 10), (128, 10, 256), (7, 33, 3), (9, 256, 16), (5, 16, 300),
                      (4, 1, 2), (6, 200, 12), (11, 3, 65), (64, 100, 5), (8, 40, 8), (13, 7, 20), (12, 9, 24), (4, 5, 11)]
        for (m, k, n) in shapes {
            XCTAssertTrue(Tensor.isThin(m: m, n: n, k: k, transposeA: false), "m=\(m) k=\(k) n=\(n)")
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                if ta && !Tensor.isThin(m: m, n: n, k: k, transposeA: true) { continue }
                let a = try random.tensor(shape: ta ? [k, m] : [m, k], normal: true)
                let b = try random.tensor(shape: tb ? [n, k] : [k, n], normal: true)
                var out = [Double](repeating: .nan, count: m * n)
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        out.withUnsafeMutableBufferPointer { po in
                            _ = Tensor.thinProduct(pa.baseAddress!, ta ? m : k, ta, pb.baseAddress!, tb ? k : n, tb, po.baseAddress!, m, n, k)
                        }
                    }
                }
                let product = Tensor(shape: [m, n], scalars: out)
                if m * n * k > 4096 {
                    XCTAssertEqual(try Tensor.matmul(a, b, transposeA: ta, transposeB: tb), product, "matmul takes the thin path")
                }
                let chain = Self.chained(a, ta, b, tb), plain = MatmulTests.naive(a, b, ta, tb)
                for (index, (x, y)) in zip(product.scalars, chain.scalars).enumerated() {
                    XCTAssertEqual(x.bitPattern, y.bitPattern, "m=\(m) k=\(k) n=\(n) ta=\(ta) tb=\(tb) at \(index): \(x) vs \(y)")
                    XCTAssertEqual(x, plain.scalars[index], accuracy: 1e-12 * Double(k), "m=\(m) k=\(k) n=\(n) tb=\(tb)")
                }
            }
        }
    }

    /// The thin products tell a NaN or Inf in their result as a scan of it would: planted in A or B at any
    /// row (past a multiple of 4 too) and column (in a block of 12, 8 or 4, or past n), or from an overflow
    /// of finite operands; other products leave it to the scan (nil).
    func testThinProductsTellNonFiniteResults() throws {
        var random = RandomGenerator(seed: 5)
        for (m, k, n) in [(13, 40, 10), (9, 40, 16), (6, 12, 70), (5, 300, 3), (12, 100, 12)] {
            for (ta, tb) in [(false, false), (true, false), (false, true)] {
                guard Tensor.isThin(m: m, n: n, k: k, transposeA: ta) else { continue }
                for planted in [Double.nan, .infinity, 1e200, 0] {
                    for (row, term) in [(0, 0), (m - 1, k - 1), (m / 2, 1)] {
                        var a = try random.tensor(shape: ta ? [k, m] : [m, k], normal: true).scalars
                        a[ta ? term * m + row : row * k + term] = planted
                        var b = try random.tensor(shape: tb ? [n, k] : [k, n], normal: true).scalars
                        if planted == 1e200 { b = b.map { $0 * 1e200 } }
                        let (product, found) = try Tensor.matmulNotingNonFinite(
                            Tensor(shape: ta ? [k, m] : [m, k], scalars: a), Tensor(shape: tb ? [n, k] : [k, n], scalars: b),
                            transposeA: ta, transposeB: tb)
                        let what = "m=\(m) k=\(k) n=\(n) ta=\(ta) tb=\(tb) \(planted) at \(row), \(term)"
                        XCTAssertEqual(found, product.hasNonFinite, what)
                        XCTAssertEqual(found, planted != 0, what)
                    }
                }
            }
        }
        var b = [Double](repeating: 1, count: 64 * 64)
        b[100] = .nan
        let large = Tensor(shape: [64, 64], scalars: b)
        XCTAssertNil(try Tensor.matmulNotingNonFinite(large, large).hasNonFinite, "OpenBLAS's product is scanned")
    }

    /// Only products with A as stored, 4 rows or more, 2 columns or more, and at most 256 terms.
    func testWhichProductsAreThin() {
        XCTAssertTrue(Tensor.isThin(m: 256, n: 10, k: 256, transposeA: false))
        XCTAssertTrue(Tensor.isThin(m: 256, n: 256, k: 10, transposeA: false))
        XCTAssertTrue(Tensor.isThin(m: 256, n: 10, k: 256, transposeA: true), "Aᵀ·B with 12 columns or fewer")
        XCTAssertFalse(Tensor.isThin(m: 256, n: 16, k: 256, transposeA: true), "Aᵀ·B with 16 columns stays with OpenBLAS")
        XCTAssertFalse(Tensor.isThin(m: 256, n: 256, k: 10, transposeA: true), "Aᵀ·B with few terms stays with OpenBLAS")
        XCTAssertFalse(Tensor.isThin(m: 256, n: 10, k: 257, transposeA: false), "OpenBLAS splits longer sums")
        XCTAssertFalse(Tensor.isThin(m: 256, n: 64, k: 256, transposeA: false), "neither few columns nor few terms")
        XCTAssertFalse(Tensor.isThin(m: 3, n: 10, k: 256, transposeA: false))
        XCTAssertFalse(Tensor.isThin(m: 256, n: 1, k: 256, transposeA: false), "a matrix-vector product")
        XCTAssertFalse(Tensor.isThin(m: 256, n: 100_000, k: 16, transposeA: false), "op(B) too large to copy")
    }
}

/// OpenBLAS opens on a background thread once a second matrix it would multiply appears.
final class BackgroundOpeningTests: XCTestCase {
    func testOnlyMatricesThatAProductWouldHandToOpenBLASOpenIt() {
        XCTAssertTrue(BLAS.isWorthOpening(forMatrixOf: [64, 64]))
        XCTAssertTrue(BLAS.isWorthOpening(forMatrixOf: [2, 64, 32]))
        XCTAssertFalse(BLAS.isWorthOpening(forMatrixOf: [63, 64]), "under 4,096 elements")
        XCTAssertFalse(BLAS.isWorthOpening(forMatrixOf: [1, 10_000]), "a row: products with it are matrix-vector loops")
        XCTAssertFalse(BLAS.isWorthOpening(forMatrixOf: [10_000, 1]), "a column")
        XCTAssertFalse(BLAS.isWorthOpening(forMatrixOf: [10_000]), "a vector")
        XCTAssertFalse(BLAS.isWorthOpening(forMatrixOf: []))
    }

    /// The opening starts at the second matrix a product would hand to OpenBLAS, once; vectors, rows and
    /// small matrices do not count.
    func testTheSecondMatrixStartsTheOpening() {
        var trigger = BLAS.OpeningTrigger()
        XCTAssertFalse(trigger.notes(matrixOf: [512, 512]), "one matrix: most often multiplied by vectors")
        XCTAssertFalse(trigger.notes(matrixOf: [512]))
        XCTAssertFalse(trigger.notes(matrixOf: [1, 10_000]))
        XCTAssertFalse(trigger.notes(matrixOf: [10, 10]))
        XCTAssertTrue(trigger.notes(matrixOf: [64, 256]), "a second matrix")
        XCTAssertTrue(trigger.started)
        XCTAssertFalse(trigger.notes(matrixOf: [64, 256]), "only once")
    }

    /// While OpenBLAS opens, `thinProduct` computes the products that OpenBLAS computes as one chain of fused
    /// multiply-adds per element: the result must not depend on whether the opening had ended. Each shape
    /// goes through OpenBLAS as `matmul` calls it (`BLAS.multiply`: C zeroed, β = 1, the rows split between
    /// two threads from a million multiply-adds).
    func testProductsWhileOpenBLASOpensAreItsProductsToTheBit() throws {
        guard let dgemm = BLAS.dgemm else { throw XCTSkip("OpenBLAS is not installed (make deps installs it)") }
        var random = RandomGenerator(seed: 23)
        // (m, k, n): W3's and W8's products, one term, the most terms, odd columns, on one thread or more.
        let shapes = [(256, 64, 256), (64, 256, 256), (256, 256, 10), (8, 1, 8), (4, 256, 3), (12, 100, 13),
                      (32, 17, 2000), (40, 100, 300), (136, 255, 31)]
        var checked = 0
        for (m, k, n) in shapes where BLAS.computesAsFusedChains(m: m, n: n, k: k) {
            for ta in [false, true] {
                for tb in [false, true] {
                    let a = try random.tensor(shape: ta ? [k, m] : [m, k], normal: true)
                    let b = try random.tensor(shape: tb ? [n, k] : [k, n], normal: true)
                    var expected = [Double](repeating: 0, count: m * n), chains = [Double](repeating: .nan, count: m * n)
                    a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            expected.withUnsafeMutableBufferPointer { pc in
                                BLAS.multiply(dgemm, ta, tb, m: m, n: n, k: k, pa.baseAddress!, lda: ta ? m : k, pb.baseAddress!,
                                              ldb: tb ? k : n, pc.baseAddress!)
                            }
                            chains.withUnsafeMutableBufferPointer { pc in
                                _ = Tensor.thinProduct(pa.baseAddress!, ta ? m : k, ta, pb.baseAddress!, tb ? k : n, tb, pc.baseAddress!, m, n, k)
                            }
                        }
                    }
                    XCTAssertEqual(chains.map(\.bitPattern), expected.map(\.bitPattern), "m=\(m) k=\(k) n=\(n) ta=\(ta) tb=\(tb)")
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 4 * 8, "every shape with rows in blocks of 4 and at most 256 terms")
    }

    /// Which products OpenBLAS sums as one chain per element: at most 256 terms (one of its blocks), and rows
    /// in whole blocks of 4.
    func testWhichProductsAreFusedChains() {
        XCTAssertTrue(BLAS.computesAsFusedChains(m: 256, n: 256, k: 64))
        XCTAssertTrue(BLAS.computesAsFusedChains(m: 4, n: 3, k: 256))
        XCTAssertFalse(BLAS.computesAsFusedChains(m: 4, n: 3, k: 257), "two blocks of terms: OpenBLAS adds their sums")
        XCTAssertFalse(BLAS.computesAsFusedChains(m: 5, n: 8, k: 8), "a row past the blocks of 4")
        XCTAssertFalse(BLAS.computesAsFusedChains(m: 1026, n: 1000, k: 100), "rows not in blocks of 4")
    }

    /// Products made at once, while the opening may still be under way, wait for it and are right.
    func testProductsRightAfterTheOpeningStartsAreRight() throws {
        var random = RandomGenerator(seed: 11)
        let a = try random.tensor(shape: [64, 64], normal: true)
        BLAS.openInBackground(forMatrixOf: a.shape)  // a second matrix: starts the opening (if no test did before)
        let product = try Tensor.matmul(a, a, transposeB: true)
        let expected = MatmulTests.naive(a, a, false, true)
        for (x, y) in zip(product.scalars, expected.scalars) { XCTAssertEqual(x, y, accuracy: 1e-9 * max(1, abs(y))) }
    }
}

final class ElementwiseAccuracyTests: XCTestCase {
    /// The fast tanh stays within 4 units in the last place of glibc's everywhere that matters.
    func testFastTanhMatchesLibm() {
        var random = RandomGenerator(seed: 3)
        var points: [Double] = [0, -0.0, 1e-300, 1e-20, 1e-8, 0.624999, 0.625, 0.625001, 1, 5, 19, 22, 30, 700, 1e300, .infinity]
        for _ in 0..<200_000 { points.append((random.uniform() - 0.5) * 20) }
        for _ in 0..<50_000 { points.append((random.uniform() - 0.5) * 2e-3) }
        points += points.map { -$0 }
        for x in points {
            let fast = Tensor.fastTanh(x), exact = Foundation.tanh(x)
            let ulp = exact == 0 ? Double.leastNonzeroMagnitude : exact.ulp
            XCTAssertLessThanOrEqual(abs(fast - exact) / ulp, 4, "tanh(\(x)): \(fast) vs \(exact)")
            if abs(fast - exact) / ulp > 4 { return }
        }
        XCTAssertTrue(Tensor.fastTanh(.nan).isNaN)
        XCTAssertEqual(Tensor.fastTanh(-.infinity), -1)
    }
}

final class NonFiniteScanTests: XCTestCase {
    /// The elementwise kernels tell a non-finite result in the pass that writes it, as a scan of the result
    /// would: every function over a mix of values, both broadcast paths, and scalars.
    func testKernelsTellNonFiniteResultsAsTheScanDoes() throws {
        let values: [Double] = [0, -0.0, 0.5, -2, 3, 700, -1e308, .leastNormalMagnitude / 4, .infinity, -.infinity, .nan]
        let finiteValues: [Double] = [0.25, -0.5, 1, 2, -3, 0.625]
        for inputs in [values, finiteValues] + values.map({ [$0] }) {
            let x = Tensor(shape: [inputs.count], scalars: inputs)
            for f in UnaryFunction.allCases {
                let (y, flag) = x.mapNotingNonFinite(f)
                XCTAssertEqual(flag, y.hasNonFinite, "\(f) of \(inputs)")
                XCTAssertEqual(y.scalars.map(\.bitPattern), x.map(f).scalars.map(\.bitPattern))
            }
            let column = Tensor(shape: [inputs.count, 1], scalars: inputs)
            for g in BinaryFunction.allCases {
                for (a, b) in [(x, x), (x, Tensor(2)), (Tensor(1e308), x), (column, x), (x, column)] {
                    let (z, flag) = try Tensor.zipNotingNonFinite(a, b, g)
                    XCTAssertEqual(flag, z.hasNonFinite, "\(g) of \(a.shape) and \(b.shape): \(inputs)")
                }
            }
        }
        XCTAssertTrue(try Tensor.zipNotingNonFinite(Tensor(1e308), Tensor(1e308), .add).hasNonFinite, "an overflow")
        XCTAssertFalse(try Tensor.zipNotingNonFinite(Tensor(1), Tensor(2), .divide).hasNonFinite)
    }

    /// The vectorized scan finds a single inf or NaN anywhere, in the first block or a later one, and
    /// nothing in the largest finite values, subnormals or negative zero.
    func testFindsEveryNonFiniteValueAndNothingElse() {
        let finite: [Double] = [0, -0.0, 1, -1, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                .leastNonzeroMagnitude, -.leastNormalMagnitude, 1e308, -Double("3e-310")!]
        XCTAssertFalse(Tensor(shape: [finite.count], scalars: finite).hasNonFinite)
        XCTAssertFalse(Tensor(shape: [0], scalars: []).hasNonFinite)
        for bad in [Double.nan, -.nan, .infinity, -.infinity, .signalingNaN] {
            for position in [0, 5, 1023, 1024, 2500, 2999] {
                var scalars = [Double](repeating: 1.5, count: 3000)
                scalars[position] = bad
                XCTAssertTrue(Tensor(shape: [3000], scalars: scalars).hasNonFinite, "\(bad) at \(position)")
            }
            XCTAssertTrue(Tensor(shape: [], scalars: [bad]).hasNonFinite)
        }
    }
}
