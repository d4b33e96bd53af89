import XCTest
import TensorCore
@testable import TapeLanguage

/// solve, logdet, slogdet, pinv and svd through LAPACK: NumPy's numbers where the old way (an inverse, a
/// determinant) lost digits or overflowed, and the errors that say why a value or a gradient is refused.
final class LinearAlgebraAccuracyTests: XCTestCase {
    func output(_ text: String) -> String { DiagnosticsTests.format(Session(), text) }

    func values(_ text: String, _ name: String) throws -> [Double] {
        let session = Session()
        for outcome in session.run(text, keepGoing: true) {
            if case .error(let e) = outcome.result { XCTFail("\(e)") }
        }
        let value = try XCTUnwrap(session.run(name, keepGoing: true).compactMap { outcome -> Tensor? in
            if case .tensor(_, let v) = outcome.result { return v.tensor }
            return nil
        }.first)
        return value.scalars
    }

    static let hilbert10 = "n = 10\nH = 1 / (reshape(arange(0, n, 1), [n, 1]) + arange(0, n, 1) + 1)\nb = where(eq(mod(arange(0, n, 1), 2), 0), 1, -1)"

    /// The Hilbert matrix of order 10 (condition number 1.6e13): solve is NumPy's LU, to about 1e-13
    /// relative; inv(H) @ b, which solve was before, differs from it from the fourth digit on.
    func testSolveIllConditionedMatchesNumPy() throws {
        // numpy.linalg.solve(H, b)
        let numpy = [33173912.085746527, -2872571600.1570277, 61317331739.47175, -558537933799.0658, 2668773655733.86,
                     -7347672372412.031, 12071434220092.56, -11679360413197.178, 6137924712265.936, -1351063702360.982]
        let solved = try values(Self.hilbert10, "solve(H, b)")
        let inverted = try values(Self.hilbert10, "inv(H) @ b")
        for (x, y) in zip(solved, numpy) { XCTAssertEqual(x, y, accuracy: 1e-9 * abs(y)) }
        let worst = zip(inverted, numpy).map { abs($0 - $1) / abs($1) }.max()!
        XCTAssertGreaterThan(worst, 1e-6, "the inverse's digits this test contrasts with")
    }

    /// log|det| of a matrix whose determinant underflows (1e-600) or overflows (1e600): NumPy's slogdet.
    func testLogdetBeyondTheRangeOfDoubles() throws {
        XCTAssertEqual(try values("", "det(1e-200 * eye(3))"), [0])
        XCTAssertEqual(try values("", "logdet(1e-200 * eye(3))")[0], -1381.5510557964276, accuracy: 1e-12)
        XCTAssertEqual(try values("", "logdet(1e200 * eye(3))")[0], 1381.5510557964276, accuracy: 1e-12)
        XCTAssertEqual(try values("s, l = slogdet(-1e200 * eye(3))", "s"), [-1])
        XCTAssertEqual(try values("A = 1e-200 * eye(2)\nwatch A\ng = grad logdet(A) wrt A", "g"), [1e200, 0, 0, 1e200])
        // A batch, and a permutation's sign (two row swaps, then one).
        XCTAssertEqual(try values("s, l = slogdet([[[0, 1, 0], [0, 0, 1], [1, 0, 0]], [[0, 1, 0], [1, 0, 0], [0, 0, 1]]])", "s"), [1, -1])
        XCTAssertEqual(output("logdet([[1, 2], [2, 4]])"), """
        error: logdet: the matrix is singular (det = 0, log|det| = -inf, no gradient)
         --> 1:1
          │
        1 │ logdet([[1, 2], [2, 4]])
          │ ^^^^^^^^^^^^^^^^^^^^^^^^
        """)
    }

    /// A rank-deficient matrix has NumPy's pseudo-inverse; its gradient is refused with the rank.
    func testPinvOfLowerRank() throws {
        // numpy.linalg.pinv([[1, 2], [2, 4], [3, 6]])
        let numpy = [0.014285714285714289, 0.028571428571428564, 0.042857142857142844, 0.028571428571428584, 0.05714285714285714, 0.0857142857142857]
        for (x, y) in zip(try values("", "pinv([[1, 2], [2, 4], [3, 6]])"), numpy) { XCTAssertEqual(x, y, accuracy: 1e-14) }
        XCTAssertEqual(output("R = [[1, 2], [2, 4], [3, 6]]; watch R\ngrad sum(pinv(R)) wrt R"), """
        error: pinv: the matrix has rank 1, less than 2, where the pseudo-inverse jumps, so it has no gradient
         --> 2:1
          │
        2 │ grad sum(pinv(R)) wrt R
          │ ^^^^^^^^^^^^^^^^^^^^^^^
        """)
    }

    /// svd: the factors multiply back; bad shapes, NaN and undefined gradients are errors that say so.
    func testSVDValuesAndRefusals() throws {
        let rebuilt = try values("u, s, vt = svd([[2.1, -0.7, 0.5], [0.4, 1.8, -0.3]])", "u @ diag(s) @ vt")
        for (x, y) in zip(rebuilt, [2.1, -0.7, 0.5, 0.4, 1.8, -0.3]) { XCTAssertEqual(x, y, accuracy: 1e-14) }
        // numpy.linalg.svd: the singular values of a 4×3 matrix of rank 2 (one of them 0 to rounding).
        let s = try values("u, s, vt = svd([[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]])", "s")
        XCTAssertEqual(s[0], 25.462407436036397, accuracy: 1e-12)
        XCTAssertEqual(s[1], 1.2906616757612328, accuracy: 1e-12)
        XCTAssertLessThan(abs(s[2]), 1e-13)
        XCTAssertEqual(output("svd([1, 2])"), """
        error: svd needs a matrix with at least one row and one column, got shape [2]
         --> 1:1
          │
        1 │ svd([1, 2])
          │ ^^^^^^^^^^^
        """)
        XCTAssertTrue(output("svd([[1, 0], [0, log(-1)]])").hasPrefix("error: svd: the matrix has NaN or infinite elements"))
        XCTAssertTrue(output("svd(zeros([0, 2]))").hasPrefix("error: svd needs a matrix with at least one row and one column, got shape [0, 2]"))
        // A zero singular value of a non-square matrix: the vectors' gradient divides by it.
        XCTAssertTrue(output("Z = zeros([3, 2]); watch Z\nf(x) = < u, s, vt = svd(x); sum(u) >\ngrad f(Z) wrt Z")
            .contains("error: svd: singular value 0 is repeated, so the singular vectors' gradient is undefined"))
        XCTAssertTrue(output("Z = [[1, 0], [0, 0], [0, 0]]; watch Z\nf(x) = < u, s, vt = svd(x); sum(u) >\ngrad f(Z) wrt Z")
            .contains("error: svd: a singular value is 0, so the singular vectors' gradient is undefined"))
        // Only s's gradient is wanted: defined at repeated singular values (u @ vt for sum(s)).
        XCTAssertEqual(try values("E = 2 * eye(3); watch E\nf(x) = < u, s, vt = svd(x); sum(s) >\ng = grad f(E) wrt E", "g"), [1, 0, 0, 0, 1, 0, 0, 0, 1])
    }

    func testHelpOnSvd() {
        XCTAssertTrue(output(":help svd").contains("svd(A)"))
        XCTAssertTrue(output(":help svd").contains("u, s, vt with A = u @ diag(s) @ vt"))
    }
}
