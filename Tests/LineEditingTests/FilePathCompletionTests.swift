import Foundation
import LineEditing
import XCTest

final class FilePathCompletionTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "tapebook-complete-\(UUID().uuidString)"
        let manager = FileManager.default
        try manager.createDirectory(atPath: directory + "/sessions/deep", withIntermediateDirectories: true)
        for file in ["sessions/intro.tape", "sessions/hessian.tape", "weights.csv", "wide.csv", ".hidden"] {
            XCTAssertTrue(manager.createFile(atPath: directory + "/" + file, contents: Data()))
        }
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(atPath: directory)
    }

    func testDirectoriesEndWithSlash() {
        XCTAssertEqual(completeFilePath("se", relativeTo: directory), ["sessions/"])
    }

    func testSeveralMatchesAreSorted() {
        XCTAssertEqual(completeFilePath("w", relativeTo: directory), ["weights.csv", "wide.csv"])
    }

    func testDescendsIntoTypedDirectory() {
        XCTAssertEqual(completeFilePath("sessions/", relativeTo: directory),
                       ["sessions/deep/", "sessions/hessian.tape", "sessions/intro.tape"])
        XCTAssertEqual(completeFilePath("sessions/in", relativeTo: directory), ["sessions/intro.tape"])
    }

    func testHiddenOnlyWhenAskedFor() {
        XCTAssertFalse(completeFilePath("", relativeTo: directory).contains(".hidden"))
        XCTAssertEqual(completeFilePath(".h", relativeTo: directory), [".hidden"])
    }

    func testAbsolutePathsIgnoreTheBase() {
        XCTAssertEqual(completeFilePath(directory + "/wi"), [directory + "/wide.csv"])
    }

    func testMissingDirectoryGivesNothing() {
        XCTAssertEqual(completeFilePath("nowhere/x", relativeTo: directory), [])
    }
}
