import Foundation
import XCTest
import TensorCore
import Rendering

/// Exact layouts; where the layout follows NumPy the expected text was checked against
/// `np.array2string(a, separator=', ', precision=4, max_line_width=W)` (with `1.` written `1`).
final class TensorFormatterTests: XCTestCase {
    private let narrow = FormatOptions(lineWidth: 40)

    private func vector(_ values: [Double]) -> Tensor { Tensor(vector: values) }
    private func range(_ count: Int, shape: [Int]? = nil, _ transform: (Double) -> Double = { $0 }) -> Tensor {
        Tensor(shape: shape ?? [count], scalars: (0..<count).map { transform(Double($0)) })
    }

    func testScalars() {
        XCTAssertEqual(formatTensor(Tensor(14)), "14")
        XCTAssertEqual(formatTensor(Tensor(0.5)), "0.5")
        XCTAssertEqual(formatTensor(Tensor(Double.pi)), "3.1416")
        XCTAssertEqual(formatTensor(Tensor(-2)), "-2")
        XCTAssertEqual(formatTensor(Tensor(Double.nan)), "nan")
        XCTAssertEqual(formatTensor(Tensor(Double.infinity)), "inf")
        XCTAssertEqual(formatTensor(Tensor(-Double.infinity)), "-inf")
        XCTAssertEqual(formatTensor(Tensor(1e-5)), "1e-05")
        XCTAssertEqual(formatTensor(Tensor(1e10)), "1e+10")
        XCTAssertEqual(formatTensor(Tensor(2.5e-7)), "2.5e-07")
        XCTAssertEqual(formatNumber(0.1 + 0.2), "0.3")
    }

    /// A negative zero keeps its sign, as NumPy prints `-0.` and TensorFlow `-0.0` (docs/DECISIONS.md,
    /// "Negative zero"): it is a different number to `1 / x` and `atan2`.
    func testNegativeZeroKeepsItsSign() {
        XCTAssertEqual(formatTensor(Tensor(-0.0)), "-0")
        XCTAssertEqual(formatTensor(Tensor(0.0)), "0")
        // NumPy: [ 0. , -0. ,  1.5]
        XCTAssertEqual(formatTensor(vector([0, -0.0, 1.5])), "[ 0  , -0  ,  1.5]")
        // NumPy: [-0., -0.]
        XCTAssertEqual(formatTensor(vector([-0.0, -0.0])), "[-0, -0]")
        XCTAssertEqual(formatTensor(Tensor(shape: [2, 2], scalars: [-0.0, 1, 2, -3])), "2×2\n -0   1\n  2  -3")
        // A small negative number is not a zero: NumPy (precision 4) switches to scientific notation too.
        XCTAssertEqual(formatTensor(vector([-0.00004, 1.5, 2])), "[-4.0e-05,  1.5e+00,  2.0e+00]")
        XCTAssertEqual(formatNumber(-0.0), "-0")
    }

    func testIntegralVectors() {
        XCTAssertEqual(formatTensor(vector([1, 2, 3])), "[1, 2, 3]")
        XCTAssertEqual(formatTensor(vector([2, 4, 6])), "[2, 4, 6]")
        XCTAssertEqual(formatTensor(vector([0, 0])), "[0, 0]")
        XCTAssertEqual(formatTensor(vector([-1, 10, 100])), "[ -1,  10, 100]")
    }

    func testMixedDecimalsShareDecimalsAndWidth() {
        // NumPy: [0.5 , 0.25, 1.  ]
        XCTAssertEqual(formatTensor(vector([0.5, 0.25, 1])), "[0.5 , 0.25, 1   ]")
        XCTAssertEqual(formatTensor(vector([1, 2.5, 3])), "[1  , 2.5, 3  ]")
        // NumPy: [-1.5   ,  2.    ,  3.1416]
        XCTAssertEqual(formatTensor(vector([-1.5, 2, .pi])), "[-1.5   ,  2     ,  3.1416]")
        XCTAssertEqual(formatTensor(vector([1.0 / 3, 2.0 / 3])), "[0.3333, 0.6667]")
        XCTAssertEqual(formatTensor(vector([1.0 / 3]), FormatOptions(precision: 2)), "[0.33]")
    }

    func testNonFinite() {
        // NumPy: [ 1. ,  nan,  2.5, -inf]
        XCTAssertEqual(formatTensor(vector([1, .nan, 2.5, -.infinity])), "[ 1  ,  nan,  2.5, -inf]")
        XCTAssertEqual(formatTensor(vector([.nan, .infinity])), "[nan, inf]")
        XCTAssertEqual(formatTensor(vector([1, .nan])), "[  1, nan]")
    }

    func testScientific() {
        // NumPy: [1.e-05, 1.e+03], [1.5e-05, 1.0e+03], [1.e-300, 1.e+005], [-1.e-05,  1.e+03,     nan]
        XCTAssertEqual(formatTensor(vector([1e-5, 1e3])), "[1e-05, 1e+03]")
        XCTAssertEqual(formatTensor(vector([1.5e-5, 1e3])), "[1.5e-05, 1.0e+03]")
        XCTAssertEqual(formatTensor(vector([1e-300, 1e5])), "[1e-300, 1e+005]")
        XCTAssertEqual(formatTensor(vector([-1e-5, 1e3, .nan])), "[-1e-05,  1e+03,    nan]")
        XCTAssertEqual(formatTensor(vector([1e8])), "[1e+08]")
        XCTAssertEqual(formatTensor(vector([0, 1e-5])), "[0e+00, 1e-05]")
        // NumPy: [1.2346e+05, 1.0000e+00]
        XCTAssertEqual(formatTensor(vector([123456.789, 1])), "[1.2346e+05, 1.0000e+00]")
    }

    /// NumPy prints the shortest digits that read back to a value, capped at `precision` decimals
    /// (`unique=True`), so a higher precision never shows the binary value's noise.
    func testShortestDigitsUpToPrecision() {
        let p17 = FormatOptions(precision: 17), p16 = FormatOptions(precision: 16)
        // NumPy (precision=17): 0.1, [0.1               , 0.3333333333333333]
        XCTAssertEqual(formatTensor(Tensor(0.1), p17), "0.1")
        XCTAssertEqual(formatNumber(0.1, precision: 17), "0.1")
        XCTAssertEqual(formatTensor(vector([0.1, 1.0 / 3]), p17), "[0.1               , 0.3333333333333333]")
        XCTAssertEqual(formatTensor(Tensor(2.0 / 3 * 1000), p17), "666.6666666666666")
        XCTAssertEqual(formatTensor(Tensor(0.1 + 0.2), p17), "0.30000000000000004")
        XCTAssertEqual(formatTensor(Tensor(0.1 + 0.2), p16), "0.3")
        XCTAssertEqual(formatTensor(Tensor(shape: [2, 2], scalars: [0.1, 0.2, 0.1 + 0.2, 1]), p17), """
            2×2
             0.1                  0.2
             0.30000000000000004  1
            """)
        // NumPy (precision=16): 123.456, [1.23456e+02, 1.00000e-01]
        XCTAssertEqual(formatTensor(Tensor(123.456), p16), "123.456")
        XCTAssertEqual(formatTensor(vector([123.456, 0.1]), p16), "[1.23456e+02, 1.00000e-01]")
        // NumPy (precision=17): [1.000000000000000e-05, 3.333333333333333e-01]
        XCTAssertEqual(formatTensor(vector([1e-5, 1.0 / 3]), p17), "[1.000000000000000e-05, 3.333333333333333e-01]")
        // Fewer decimals than the shortest digits: the value itself is rounded, once (0.15 is
        // 0.1499999…, so NumPy gives 0.1), ties to even. NumPy: 666.6667, 0.1, [0., 2., 2.], -0. Where
        // NumPy rounds a value that is not an integer to one, tapebook shows the decimals it needs.
        XCTAssertEqual(formatTensor(Tensor(2.0 / 3 * 1000)), "666.6667")
        XCTAssertEqual(formatNumber(0.15, precision: 1), "0.1")
        XCTAssertEqual(formatTensor(vector([0.5, 1.5, 2.5]), FormatOptions(precision: 0)), "[0.5, 1.5, 2.5]")
        XCTAssertEqual(formatTensor(Tensor(-0.0), p17), "-0")
    }

    /// Subnormal numbers are spelled as text: as literals they draw a warning that they lose precision.
    func subnormal(_ text: String) -> Double { Double(text)! }

    /// NumPy: [5.e-324], 5.e-324, [5.e-324, 1.e+000], [1.e-320], [1.5e-323, 1.0e-310], and once
    /// another element needs a decimal, each is rounded to it: [4.9e-324, 2.5e-001]
    func testShortestDigitsInScientificNotation() {
        XCTAssertEqual(formatTensor(vector([.leastNonzeroMagnitude])), "[5e-324]")
        XCTAssertEqual(formatTensor(Tensor(.leastNonzeroMagnitude)), "5e-324")
        XCTAssertEqual(formatTensor(vector([.leastNonzeroMagnitude, 1])), "[5e-324, 1e+000]")
        XCTAssertEqual(formatTensor(vector([subnormal("1e-320")])), "[1e-320]")
        XCTAssertEqual(formatTensor(vector([3 * .leastNonzeroMagnitude, subnormal("1e-310")]), FormatOptions(precision: 17)), "[1.5e-323, 1.0e-310]")
        XCTAssertEqual(formatTensor(vector([.leastNonzeroMagnitude, 0.25])), "[4.9e-324, 2.5e-001]")
    }

    /// Random vectors and scalars at every precision from 0 to 17, against `np.array2string` itself,
    /// its text turned into the house style (no point after an integral value). Skipped without NumPy.
    /// Cases where NumPy rounds a value that is not an integer to an integral one (`1.` for 0.99995) are
    /// left out: tapebook shows more decimals there (`testNonIntegersNeverPrintAsIntegers`).
    func testAgreesWithNumPyAtEveryPrecision() throws {
        let cases = try numpy(#"""
        import random, re
        random.seed(7)
        def house(text):
            scalar = not text.startswith("[")
            items = [text] if scalar else text[1:-1].split(", ")
            finite = [i for i in items if i.strip() not in ("nan", "inf", "-inf")]
            if any("e" in i for i in finite):
                items = [i.replace(".e", "e") for i in items]
                width = max(len(i.strip()) for i in items)
                items = [i.strip().rjust(width) for i in items]
            elif finite and all(i.strip().endswith(".") for i in finite):
                items = [i.replace(".", "") for i in items]
                width = max(len(i.strip()) for i in items)
                items = [i.strip().rjust(width) for i in items]
            else:
                items = [re.sub(r"\.( |$)", r" \1", i) for i in items]
            return items[0].strip() if scalar else "[" + ", ".join(items) + "]"
        def draw():
            kind = random.random()
            if kind < 0.05: return random.choice([float("nan"), float("inf"), float("-inf"), -0.0, 5e-324])
            if kind < 0.2: return float(random.randint(-1000, 1000))
            if kind < 0.4: return round(random.uniform(-100, 100), random.randint(0, 6))
            if kind < 0.6: return random.randint(1, 99) / random.randint(1, 99)
            return random.uniform(-1, 1) * 10.0 ** random.randint(-320, 300)
        for n in range(3000):
            precision = random.randint(0, 17)
            values = [draw() for _ in range(random.randint(1, 5))]
            scalar = len(values) == 1 and random.random() < 0.5
            a = np.array(values[0] if scalar else values)
            text = np.array2string(a, precision=precision, separator=", ", max_line_width=10**6)
            def looks_integral(v):
                if not np.isfinite(v) or v == int(v): return False
                return "." not in np.format_float_positional(v, precision=precision, unique=True, trim="-")
            if "e" not in text and any(looks_integral(v) for v in values): continue
            print(precision, "s" if scalar else "v", " ".join(float(v).hex() for v in values), house(text), sep="|")
        """#)
        var checked = 0
        for line in cases.split(separator: "\n") {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            let precision = Int(fields[0])!
            let values = fields[2].split(separator: " ").map { Double(String($0))! }
            let tensor = fields[1] == "s" ? Tensor(values[0]) : vector(values)
            let options = FormatOptions(precision: precision, lineWidth: 1_000_000)
            XCTAssertEqual(formatTensor(tensor, options), fields[3], "precision \(precision), values \(fields[2])")
            checked += 1
        }
        // Most of the 3000 cases: about 1 in 5 has a value that NumPy would round to an integer.
        XCTAssertGreaterThan(checked, 2000)
    }

    /// A value that is not an integer gets the decimals past `precision` that show it (see DECISIONS).
    func testNonIntegersNeverPrintAsIntegers() {
        let sigmoid10 = 1 / (1 + exp(-10.0)), softplus10 = log1p(exp(10.0))
        XCTAssertEqual(formatTensor(Tensor(sigmoid10)), "0.99995")
        XCTAssertEqual(formatTensor(Tensor(softplus10)), "10.00005")
        XCTAssertEqual(formatTensor(Tensor(-0.9999999)), "-0.9999999")
        XCTAssertEqual(formatTensor(Tensor(0.4), FormatOptions(precision: 0)), "0.4")
        XCTAssertEqual(formatTensor(Tensor(2.5), FormatOptions(precision: 0)), "2.5")
        XCTAssertEqual(formatTensor(Tensor(1.0)), "1")
        // The tensor keeps NumPy's layout: one count of decimals, shorter elements padded on the right.
        XCTAssertEqual(formatTensor(vector([1, sigmoid10, 0.5])), "[1      , 0.99995, 0.5    ]")
        // Scientific notation is unchanged: its mantissa reads as rounded.
        XCTAssertEqual(formatTensor(vector([1e-5, 0.99999999])), "[1e-05, 1e+00]")
    }

    /// Runs a Python script with NumPy imported as `np`; returns its standard output.
    private func numpy(_ script: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import numpy as np\n" + script]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch { throw XCTSkip("python3 is not available: \(error)") }
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if errors.contains("No module named 'numpy'") { throw XCTSkip("NumPy is not installed") }
        guard process.terminationStatus == 0 else { throw TensorError("python3 failed: \(errors)") }
        return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .newlines)
    }

    func testVectorWrapsLikeNumPy() {
        let halves = range(40) { $0 * 1.5 }
        XCTAssertEqual(formatTensor(halves), """
            [ 0  ,  1.5,  3  ,  4.5,  6  ,  7.5,  9  , 10.5, 12  , 13.5, 15  , 16.5, 18  ,
             19.5, 21  , 22.5, 24  , 25.5, 27  , 28.5, 30  , 31.5, 33  , 34.5, 36  , 37.5,
             39  , 40.5, 42  , 43.5, 45  , 46.5, 48  , 49.5, 51  , 52.5, 54  , 55.5, 57  ,
             58.5]
            """)
        XCTAssertEqual(formatTensor(halves, narrow), """
            [ 0  ,  1.5,  3  ,  4.5,  6  ,  7.5,
              9  , 10.5, 12  , 13.5, 15  , 16.5,
             18  , 19.5, 21  , 22.5, 24  , 25.5,
             27  , 28.5, 30  , 31.5, 33  , 34.5,
             36  , 37.5, 39  , 40.5, 42  , 43.5,
             45  , 46.5, 48  , 49.5, 51  , 52.5,
             54  , 55.5, 57  , 58.5]
            """)
        XCTAssertEqual(formatTensor(range(30) { $0 / 7 }, narrow), """
            [0     , 0.1429, 0.2857, 0.4286, 0.5714,
             0.7143, 0.8571, 1     , 1.1429, 1.2857,
             1.4286, 1.5714, 1.7143, 1.8571, 2     ,
             2.1429, 2.2857, 2.4286, 2.5714, 2.7143,
             2.8571, 3     , 3.1429, 3.2857, 3.4286,
             3.5714, 3.7143, 3.8571, 4     , 4.1429]
            """)
    }

    func testMatrixHasShapeHeaderAndColumns() {
        XCTAssertEqual(formatTensor(Tensor(shape: [3, 3], scalars: [2, 0, 0, 0, 4, 0, 0, 0, 6])), """
            3×3
             2  0  0
             0  4  0
             0  0  6
            """)
        XCTAssertEqual(formatTensor(Tensor(shape: [2, 3], scalars: [-1, 0.5, 2, 3.25, -10, 0])), """
            2×3
              -1       0.5     2
               3.25  -10       0
            """)
        XCTAssertEqual(formatTensor(Tensor(shape: [2, 2], scalars: [-1, 0.5, 2.25, 1000])), """
            2×2
             -1.00e+00   5.00e-01
              2.25e+00   1.00e+03
            """)
        XCTAssertEqual(formatTensor(Tensor(shape: [2, 2], scalars: [1e-5, .nan, 1e3, -2])), """
            2×2
              1e-05     nan
              1e+03  -2e+00
            """)
    }

    func testRankThreeBlocks() {
        XCTAssertEqual(formatTensor(range(12, shape: [2, 2, 3])), """
            2×2×3

            [0, :, :]
              0   1   2
              3   4   5

            [1, :, :]
              6   7   8
              9  10  11
            """)
        XCTAssertEqual(formatTensor(range(24, shape: [2, 3, 4]) { $0 - 12.5 }, narrow), """
            2×3×4

            [0, :, :]
             -12.5  -11.5  -10.5   -9.5
              -8.5   -7.5   -6.5   -5.5
              -4.5   -3.5   -2.5   -1.5

            [1, :, :]
              -0.5    0.5    1.5    2.5
               3.5    4.5    5.5    6.5
               7.5    8.5    9.5   10.5
            """)
    }

    func testWideRowsSplitIntoColumnGroups() {
        XCTAssertEqual(formatTensor(range(40, shape: [2, 20]) { $0 * 1.25 }, narrow), """
            2×20

            [:, 0:5]
              0      1.25   2.5    3.75   5
             25     26.25  27.5   28.75  30

            [:, 5:10]
              6.25   7.5    8.75  10     11.25
             31.25  32.5   33.75  35     36.25

            [:, 10:15]
             12.5   13.75  15     16.25  17.5
             37.5   38.75  40     41.25  42.5

            [:, 15:20]
             18.75  20     21.25  22.5   23.75
             43.75  45     46.25  47.5   48.75
            """)
    }

    func testSummarizesAboveThreshold() {
        // NumPy: [   0.,    1.,    2., ...,  998.,  999., 1000.]
        XCTAssertEqual(formatTensor(range(1001)), "[   0,    1,    2, …,  998,  999, 1000]")
        XCTAssertEqual(formatTensor(range(1000)), formatTensor(range(1000), FormatOptions(threshold: 5000)))
        // NumPy: [0.000e+00, 1.000e+00, 2.000e+00, ..., 9.997e+03, 9.998e+03, 9.999e+03]
        XCTAssertEqual(formatTensor(range(10000)), "[0.000e+00, 1.000e+00, 2.000e+00, …, 9.997e+03, 9.998e+03, 9.999e+03]")
        XCTAssertEqual(formatTensor(range(10000, shape: [100, 100])), """
            100×100
             0.000e+00  1.000e+00  2.000e+00  …  9.700e+01  9.800e+01  9.900e+01
             1.000e+02  1.010e+02  1.020e+02  …  1.970e+02  1.980e+02  1.990e+02
             2.000e+02  2.010e+02  2.020e+02  …  2.970e+02  2.980e+02  2.990e+02
                     …          …          …  …          …          …          …
             9.700e+03  9.701e+03  9.702e+03  …  9.797e+03  9.798e+03  9.799e+03
             9.800e+03  9.801e+03  9.802e+03  …  9.897e+03  9.898e+03  9.899e+03
             9.900e+03  9.901e+03  9.902e+03  …  9.997e+03  9.998e+03  9.999e+03
            """)
        XCTAssertEqual(formatTensor(range(8, shape: [8]), FormatOptions(threshold: 4, edgeItems: 2)), "[0, 1, …, 6, 7]")
    }

    func testSummarizesLeadingAxes() {
        let cube = range(1000, shape: [10, 10, 10])
        let text = formatTensor(cube, FormatOptions(threshold: 100, edgeItems: 1))
        XCTAssertEqual(text, """
            10×10×10

            [0, :, :]
               0  …    9
               …  …    …
              90  …   99

            …

            [9, :, :]
             900  …  909
               …  …    …
             990  …  999
            """)
    }

    func testZeroSize() {
        XCTAssertEqual(formatTensor(Tensor(shape: [0], scalars: [])), "[]")
        XCTAssertEqual(formatTensor(Tensor(shape: [0, 3], scalars: [])), "0×3 []")
        XCTAssertEqual(formatTensor(Tensor(shape: [3, 0, 2], scalars: [])), "3×0×2 []")
    }

    func testJSONNumbers() {
        XCTAssertEqual(jsonNumber(0.1), "0.1")
        XCTAssertEqual(jsonNumber(1e-300), "1e-300")
        XCTAssertEqual(jsonNumber(1.0), "1.0")
        XCTAssertEqual(jsonNumber(2), "2.0")
        XCTAssertEqual(jsonNumber(-0.5), "-0.5")
        XCTAssertEqual(jsonNumber(1e16), "1e+16")
        XCTAssertEqual(jsonNumber(0.1 + 0.2), "0.30000000000000004")
        XCTAssertEqual(jsonNumber(.nan), "\"nan\"")
        XCTAssertEqual(jsonNumber(.infinity), "\"inf\"")
        XCTAssertEqual(jsonNumber(-.infinity), "\"-inf\"")
        for v in [0.1, 1e-300, Double.leastNonzeroMagnitude, Double.greatestFiniteMagnitude, 123456.789] {
            XCTAssertEqual(Double(jsonNumber(v)), v)
        }
    }
}
