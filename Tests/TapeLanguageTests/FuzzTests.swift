import Foundation
import XCTest
import TapeSyntax
import TapeLanguage
@testable import TensorCore

/// Fuzzing in the suite (issue 17): the lexer and parser, the `.npy` header parser and the CSV reader
/// each take a fixed number of inputs made by `Mutator` from the lessons and the test files. Any input
/// may be rejected; none may crash, hang or leave the parser stuck. A crash found becomes a test below.
final class FuzzTests: XCTestCase {
    static let inputs = 2000
    /// The parser takes about 10 ms an input in a debug build.
    static let parserInputs = 1000

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The lessons and every `.tape` file under Tests.
    static func tapeCorpus() throws -> [[UInt8]] {
        var corpus: [[UInt8]] = []
        for folder in ["sessions", "Tests"] {
            let root = repositoryRoot.appendingPathComponent(folder)
            guard let walker = FileManager.default.enumerator(atPath: root.path) else { continue }
            for case let path as String in walker where path.hasSuffix(".tape") {
                corpus.append(Array(try Data(contentsOf: root.appendingPathComponent(path))))
            }
        }
        return corpus
    }

    static let tapeTokens: [[UInt8]] = ["[", "]", "(", ")", "<", ">", "\"", "\\", "\n", "\r\n", "#>", "#", ":", ":load", "grad ", " wrt ",
                                        "with tape t persistent <", "repeat 3 <", "custom f(x) = x grad(dy) = dy", "1e308", "-", "..",
                                        "**", "^", "@", ";", ",", "=", "+=", "x.T", "\u{0}", "\u{1B}[2J", "\u{2028}", "é", "99999999999999999999"]
        .map { Array($0.utf8) }

    /// Parses every statement of `source`, past errors, as a session file does.
    static func parseEverything(_ source: String) -> Int {
        var parser = Parser(source: source)
        var statements = 0
        // Each call consumes a statement or skips past an error, so the count of calls is bounded.
        for _ in 0...(source.utf8.count + 2) {
            do {
                guard try parser.nextStatement() != nil else { return statements }
                statements += 1
            } catch {
                continue
            }
        }
        XCTFail("the parser made no progress on \(source.debugDescription.prefix(200))")
        return statements
    }

    func testLexerAndParser() throws {
        let corpus = try Self.tapeCorpus()
        XCTAssertGreaterThan(corpus.count, 20)
        var mutator = Mutator(seed: 17)
        for _ in 0..<Self.parserInputs {
            let bytes = mutator.input(from: corpus, tokens: Self.tapeTokens, maximumLength: 2048)
            let text = String(decoding: bytes, as: UTF8.self)
            _ = Self.parseEverything(text)
            _ = SessionFile(text: text).cells.count
        }
    }

    func testNPYHeaders() {
        var corpus: [[UInt8]] = []
        for shape in [[], [3], [2, 3], [0, 4], [1, 1, 1]] {
            corpus.append([UInt8](NPY.encode(Tensor(shape: shape, scalars: [Double](repeating: 1.5, count: shape.reduce(1, *))))))
        }
        let header = "{'descr': '>i2', 'fortran_order': True, 'shape': (2, 2), }"
        corpus.append(NPY.magic + [1, 0, UInt8(header.utf8.count), 0] + Array(header.utf8) + [UInt8](repeating: 7, count: 8))
        let tokens: [[UInt8]] = ["(", ")", "[", "]", "{", "}", "'", "\"", "\\", ",", ":", "True", "None", "-1", "99999999999999999999",
                                 "'descr'", "'shape'", "<f8", "|b1", "L", "\u{0}", "\u{FF}"].map { Array($0.utf8) }
        var mutator = Mutator(seed: 18)
        for _ in 0..<Self.inputs {
            var bytes = mutator.input(from: corpus, tokens: tokens, maximumLength: 1024)
            // Mostly keep the magic string, so the header parser is reached.
            if mutator.below(4) != 0 && bytes.count >= 6 { bytes.replaceSubrange(0..<6, with: NPY.magic) }
            _ = try? NPY.decode(bytes, name: "fuzz.npy")
        }
    }

    func testCSVReader() {
        var corpus: [[UInt8]] = ["1, 2, 3\n4, 5, 6\n", "x, y\n1, 2\n", "# comment\n\nnan, -inf\n", "1e308\n", "\"a\", b\n1, 2\n"].map { Array($0.utf8) }
        corpus.append(Array(CSV.encode(Tensor(shape: [2, 2], scalars: [0.1, -2, 1e-300, .infinity])).utf8))
        let tokens: [[UInt8]] = [",", "\n", "\r\n", "\t", " ", "#", "\"", "nan", "inf", "-", "e", ".", "1e999", "\u{0}", "\u{FF}"].map { Array($0.utf8) }
        var mutator = Mutator(seed: 19)
        for _ in 0..<Self.inputs {
            _ = try? CSV.decode(mutator.input(from: corpus, tokens: tokens, maximumLength: 1024), name: "fuzz.csv")
        }
    }
}
