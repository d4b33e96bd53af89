import Foundation
import XCTest
@testable import TensorCore

/// Reading is bounded (section 12 of the language): `.npy` headers as NumPy bounds them, only regular
/// files, and the memory limit read from this process's own control groups.
final class BoundedReadingTests: XCTestCase {
    func npy(header: String, version: UInt8 = 1) -> [UInt8] {
        let body = Array(header.utf8)
        let length = version == 1 ? [UInt8(body.count & 0xFF), UInt8(body.count >> 8)]
            : (0..<4).map { UInt8((body.count >> (8 * $0)) & 0xFF) }
        return NPY.magic + [version, 0] + length + body
    }

    func message(_ bytes: [UInt8]) -> String {
        do { _ = try NPY.decode(bytes, name: "f.npy"); return "no error" } catch let e as TensorError { return e.message } catch { return "\(error)" }
    }

    /// 100,000 nested brackets crashed the recursive parser (a stack overflow); NumPy reads 10,000 bytes.
    func testHeadersLongerThanNumPyReadsAreRefused() {
        let deep = "{'descr': '<f8', 'fortran_order': False, 'shape': " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        XCTAssertEqual(message(npy(header: deep, version: 2)),
                       "f.npy: the .npy header is 200051 bytes, more than NumPy reads (10000; numpy.load's max_header_size)")
    }

    func testNestingIsBounded() {
        let deep = "{'descr': '<f8', 'fortran_order': False, 'shape': " + String(repeating: "(", count: 4000) + String(repeating: ")", count: 4000) + "}"
        XCTAssertTrue(message(npy(header: deep)).hasPrefix("f.npy: malformed .npy header (nested more than 32 deep): {'descr'"), message(npy(header: deep)))
        let fine = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }"
        XCTAssertEqual(message(npy(header: fine) + [UInt8](repeating: 0, count: 16)), "no error")
    }

    func testOnlyRegularFilesLoad() {
        for device in ["/dev/zero", "/dev/null"] {
            XCTAssertThrowsError(try Tensor.load(path: device)) { error in
                XCTAssertEqual((error as? TensorError)?.message, "\(device): cannot read: not a regular file (a device, a pipe or a socket)")
            }
        }
    }

    func testTheMemoryLimitIsTheLowestOnTheWayToTheRoot() {
        let v2 = ["/sys/fs/cgroup/a/b/memory.max": "max\n", "/sys/fs/cgroup/a/memory.max": "1073741824\n", "/sys/fs/cgroup/memory.max": "max\n"]
        XCTAssertEqual(Memory.controlGroupLimit(membership: "0::/a/b\n", read: { v2[$0] }), 1 << 30)
        let v1 = ["/sys/fs/cgroup/memory/x/y/memory.limit_in_bytes": "9223372036854771712\n",
                  "/sys/fs/cgroup/memory/x/memory.limit_in_bytes": "524288000\n"]
        XCTAssertEqual(Memory.controlGroupLimit(membership: "12:cpu:/x/y\n5:memory:/x/y\n", read: { v1[$0] }), 524_288_000)
        XCTAssertNil(Memory.controlGroupLimit(membership: "0::/\n", read: { _ in "max" }))
        XCTAssertNil(Memory.controlGroupLimit(membership: "", read: { _ in "1" }))
    }
}
