import XCTest
import Glibc
import Portable

/// `FileText.replace`: how `:save`, `:export`, `graph … to` and `check --update` write files.
final class FileTextTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "tapebook-filetext-\(getpid())-\(name.filter(\.isLetter))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func contents(_ path: String) -> String? { FileText.read(path) }

    func testANewFileAndAReplacedOne() {
        let path = directory + "/a.tape"
        XCTAssertEqual(FileText.replace(path, with: Array("one\n".utf8)), 0)
        XCTAssertEqual(contents(path), "one\n")
        chmod(path, 0o600)
        XCTAssertEqual(FileText.replace(path, with: Array("two\n".utf8)), 0)
        XCTAssertEqual(contents(path), "two\n")
        var info = stat()
        XCTAssertEqual(stat(path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600, "a replaced file keeps its permissions")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["a.tape"], "no temporary file is left")
    }

    /// Renaming over a link would turn it into a file and leave its target as it was.
    func testASymbolicLinkIsFollowed() throws {
        let target = directory + "/target.tape", link = directory + "/link.tape"
        XCTAssertEqual(FileText.replace(target, with: Array("old\n".utf8)), 0)
        XCTAssertEqual(symlink("target.tape", link), 0)
        XCTAssertEqual(FileText.replace(link, with: Array("new\n".utf8)), 0)
        XCTAssertEqual(contents(target), "new\n")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), "target.tape")
        // A link whose target does not exist yet creates the target.
        let dangling = directory + "/dangling.tape"
        XCTAssertEqual(symlink("made.tape", dangling), 0)
        XCTAssertEqual(FileText.replace(dangling, with: Array("made\n".utf8)), 0)
        XCTAssertEqual(contents(directory + "/made.tape"), "made\n")
    }

    /// A device or a pipe is written in place: renaming over it would replace it with a file.
    func testAFileThatIsNotRegularIsWrittenInPlace() {
        XCTAssertEqual(FileText.replace("/dev/null", with: Array("x\n".utf8)), 0)
        var info = stat()
        XCTAssertEqual(stat("/dev/null", &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFCHR)
    }

    /// `validUTF8` answers as `String(validating:as:)` does, including where a repair is as long as what it
    /// replaces (`F0 90 80` before an ASCII byte becomes one U+FFFD, three bytes).
    func testUTF8IsValidatedAsTheStandardLibraryDoes() {
        let cases: [[UInt8]] = [
            [], Array("x = 1\n".utf8), Array("é → ∂ 😀 \u{FFFD}".utf8), [0xF0, 0x90, 0x80, 0x41], [0xFF], [0xC3],
            [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0x41, 0xC3, 0x28], [0xF4, 0x90, 0x80, 0x80], [0xEF, 0xBF, 0xBD],
            [0x00, 0x41],
        ]
        for bytes in cases {
            XCTAssertEqual(FileText.validUTF8(bytes[...]), String(validating: bytes, as: UTF8.self), "\(bytes)")
        }
        var random = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...6, using: &random)).map { _ in
                [0x41, 0x80, 0xBF, 0xC3, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xFF, 0xA0, 0x90][Int.random(in: 0..<12, using: &random)] as UInt8
            }
            XCTAssertEqual(FileText.validUTF8(bytes[...]), String(validating: bytes, as: UTF8.self), "\(bytes)")
        }
    }

    func testFailuresGiveTheirErrno() {
        XCTAssertEqual(FileText.replace(directory, with: []), EISDIR)
        XCTAssertEqual(FileText.replace(directory + "/missing/a.tape", with: []), ENOENT)
        XCTAssertEqual(systemErrorText(ENOENT), "No such file or directory")
    }
}
