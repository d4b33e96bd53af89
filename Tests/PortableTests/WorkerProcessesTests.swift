import XCTest
import Glibc
@testable import Portable

/// `WorkerProcesses`: how `tapebook check` spreads files over processes.
final class WorkerProcessesTests: XCTestCase {
    typealias Report = WorkerProcesses.Report

    /// Some reports are longer than a pipe holds (64 KiB), so that they arrive in pieces.
    private func report(_ index: Int) -> Report {
        Report(succeeded: index % 3 != 0, text: "job \(index) é " + String(repeating: "x", count: index * 3_000))
    }

    private func runAll(count: Int, processes: Int, job: (Int) -> Report) -> [(Int, Report)] {
        var delivered: [(Int, Report)] = []
        WorkerProcesses.run(count: count, processes: processes, job: job, deliver: { delivered.append(($0, $1)) })
        return delivered
    }

    func testEveryReportOnceInJobOrder() {
        for processes in [1, 2, 3, 8] {
            let delivered = runAll(count: 40, processes: processes, job: report)
            XCTAssertEqual(delivered.map(\.0), Array(0..<40), "processes: \(processes)")
            XCTAssertEqual(delivered.map(\.1), (0..<40).map(report), "processes: \(processes)")
        }
    }

    func testNoJobsAndOneJob() {
        XCTAssertTrue(runAll(count: 0, processes: 4, job: report).isEmpty)
        let one = runAll(count: 1, processes: 4, job: report)
        XCTAssertEqual(one.map(\.0), [0])
        XCTAssertEqual(one.map(\.1), [report(0)])
    }

    /// Holds this process's first job until a copy has taken one of its own, so that the copies' path runs
    /// whatever the scheduler does. A pipe, not a sleep: the wait ends when a copy writes, or when every copy
    /// has ended (this process closes its own end of the pipe before it waits).
    final class Handoff {
        let parent = getpid()
        private var ends: [Int32] = [-1, -1]
        private var waited = false

        init() { XCTAssertEqual(pipe(&ends), 0) }
        deinit { close(ends[0]) }

        var inCopy: Bool { getpid() != parent }

        /// In a copy: says that it has taken a job.
        func copyTookAJob() {
            var byte: UInt8 = 1
            _ = write(ends[1], &byte, 1)
        }

        /// Here: the first call waits for a copy's word; later calls return at once.
        func waitOnceForACopy() {
            guard !waited else { return }
            waited = true
            close(ends[1])
            var byte: UInt8 = 0
            _ = read(ends[0], &byte, 1)
        }
    }

    /// Jobs run in the copies: each report names the process that made it, and every job but the one
    /// that this process holds until a copy has answered is made elsewhere.
    func testCopiesRunJobs() throws {
        let handoff = Handoff()
        let delivered = runAll(count: 6, processes: 2) { index in
            if handoff.inCopy { handoff.copyTookAJob() } else { handoff.waitOnceForACopy() }
            return Report(succeeded: true, text: "\(getpid())")
        }
        XCTAssertEqual(delivered.map(\.0), Array(0..<6))
        XCTAssertTrue(delivered.contains { $0.1.text != "\(handoff.parent)" }, "no job ran in a copy: \(delivered.map(\.1.text))")
    }

    /// A copy that dies in the middle of a job: the job is run again here, and every report still comes once.
    func testAJobACopyDidNotReportRunsHere() throws {
        let handoff = Handoff()
        let delivered = runAll(count: 5, processes: 2) { index in
            if handoff.inCopy {
                // The copy takes a job, says so, and ends without reporting it.
                handoff.copyTookAJob()
                _exit(3)
            }
            handoff.waitOnceForACopy()
            return report(index)
        }
        XCTAssertEqual(delivered.map(\.0), Array(0..<5))
        XCTAssertEqual(delivered.map(\.1), (0..<5).map(report))
    }

    func testRecordsDecodeOnlyWhenWhole() {
        let first = WorkerProcesses.Record.encode(index: 7, report(7))
        let second = WorkerProcesses.Record.encode(index: 0, Report(succeeded: false, text: ""))
        let bytes = first + second
        let decoded = WorkerProcesses.Record.decode(bytes, from: 0)
        XCTAssertEqual(decoded?.index, 7)
        XCTAssertEqual(decoded?.report, report(7))
        XCTAssertEqual(decoded?.end, first.count)
        let next = WorkerProcesses.Record.decode(bytes, from: first.count)
        XCTAssertEqual(next?.index, 0)
        XCTAssertEqual(next?.report, Report(succeeded: false, text: ""))
        XCTAssertEqual(next?.end, bytes.count)
        for cut in [0, 1, 16, first.count - 1] {
            XCTAssertNil(WorkerProcesses.Record.decode(Array(first[0..<cut]), from: 0), "cut at \(cut)")
        }
    }

    func testCoresIsAtLeastOne() {
        XCTAssertGreaterThanOrEqual(WorkerProcesses.cores, 1)
    }
}
