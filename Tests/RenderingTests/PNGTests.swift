import XCTest
@testable import Rendering

final class PNGTests: XCTestCase {
    /// The checksums' published check values.
    func testChecksumsGiveTheirCheckValues() {
        XCTAssertEqual(PNG.crc32(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(PNG.adler32(Array("Wikipedia".utf8)), 0x11E6_0398)
    }

    /// A 1×1 red pixel: the bytes of each part, as the PNG and zlib specifications lay them out.
    func testOnePixel() {
        let file = PNG.encode(width: 1, height: 1, rgba: [255, 0, 0, 255])
        XCTAssertEqual(Array(file[0..<8]), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertEqual(Array(file[8..<33]), [0, 0, 0, 13] + Array("IHDR".utf8) + [0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]
                       + PNG.bigEndian(PNG.crc32(Array("IHDR".utf8) + [0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0])))
        // zlib header, one final stored block of 5 bytes (filter 0 and the pixel), Adler-32 of those bytes.
        let stream: [UInt8] = [0x78, 0x01, 1, 5, 0, 0xFA, 0xFF, 0, 255, 0, 0, 255] + PNG.bigEndian(PNG.adler32([0, 255, 0, 0, 255]))
        XCTAssertEqual(Array(file[33..<(33 + 8 + stream.count)]), PNG.bigEndian(UInt32(stream.count)) + Array("IDAT".utf8) + stream)
        XCTAssertEqual(Array(file.suffix(12)), [0, 0, 0, 0] + Array("IEND".utf8) + [0xAE, 0x42, 0x60, 0x82])
    }

    /// More than 65,535 bytes of data: several stored blocks, only the last one final.
    func testLargePictureSplitsIntoBlocks() {
        let raw = [UInt8](repeating: 7, count: 70_000)
        let stream = PNG.zlibStored(raw)
        XCTAssertEqual(stream.count, 2 + (5 + 65535) + (5 + 4465) + 4)
        XCTAssertEqual(Array(stream[2..<7]), [0, 0xFF, 0xFF, 0, 0])
        XCTAssertEqual(Array(stream[(2 + 5 + 65535)..<(2 + 5 + 65535 + 5)]), [1, 0x71, 0x11, 0x8E, 0xEE])
    }
}
