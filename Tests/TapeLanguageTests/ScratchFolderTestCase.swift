import Foundation
import XCTest

/// Exporting replays the session, so a test program's `save` or `:save` writes a file relative to the
/// current folder: these tests run in a temporary folder of their own, never in the package's root.
class ScratchFolderTestCase: XCTestCase {
    private var previous = ""
    private var scratch = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        previous = FileManager.default.currentDirectoryPath
        scratch = NSTemporaryDirectory() + "tapebook-scratch-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(scratch))
    }

    override func tearDownWithError() throws {
        _ = FileManager.default.changeCurrentDirectoryPath(previous)
        try? FileManager.default.removeItem(atPath: scratch)
        try super.tearDownWithError()
    }
}
