import Glibc
import CPortable

/// Runs independent jobs on this process and forked copies of it, one process per core, and hands their
/// reports back in job order.
///
/// Processes rather than threads: a job may use anything in the process (the memory limit's counters,
/// OpenBLAS's settings, modules whose reference counts are not atomic), and a copy shares none of it.
/// The copies are forked before any job runs, while this process has one thread, so a copy never inherits
/// a lock that another thread held.
public enum WorkerProcesses {
    /// What one job reports: whether it succeeded, and the text to print for it.
    public struct Report: Equatable, Sendable {
        public var succeeded: Bool
        public var text: String

        public init(succeeded: Bool, text: String) {
            self.succeeded = succeeded
            self.text = text
        }
    }

    /// The cores this process may run on (at least 1).
    public static var cores: Int { max(1, Int(tapebook_usable_cores())) }

    /// Runs jobs `0..<count` on up to `processes` processes: this one, and copies forked before the first job.
    /// Each process takes the next job not yet taken, so a long job does not hold up the others. `deliver`
    /// runs in this process, in job order, as soon as a report and every earlier one are in.
    ///
    /// A copy that ends without reporting a job it took (it crashed or was killed) has that job run again
    /// here; when no copy can be forked, this process runs every job.
    public static func run(count: Int, processes: Int, job: (Int) -> Report, deliver: (Int, Report) -> Void) {
        withoutActuallyEscaping(deliver) { deliver in
            var collector = Collector(count: count, deliver: deliver)
            run(count: count, processes: processes, job: job, collector: &collector)
        }
    }

    private static func run(count: Int, processes: Int, job: (Int) -> Report, collector: inout Collector) {
        let wanted = min(processes, count)
        guard wanted > 1, let counter = SharedCounter() else {
            for index in 0..<count { collector.add(index, job(index)) }
            return
        }
        defer { counter.release() }

        // Buffered output would be written twice, once by each process that holds a copy of it.
        fflush(nil)
        let parent = getpid()
        var workers: [(pid: pid_t, pipe: Int32)] = []
        for _ in 1..<wanted {
            var ends: [Int32] = [-1, -1]
            guard pipe(&ends) == 0 else { break }
            let pid = fork()
            if pid == 0 {
                close(ends[0])
                for worker in workers { close(worker.pipe) }
                // A copy whose parent is gone has no one to report to.
                if tapebook_die_with_parent() != 0 || getppid() != parent { _exit(0) }
                serve(counter: counter, count: count, job: job, to: ends[1])
            }
            close(ends[1])
            if pid < 0 {
                close(ends[0])
                break
            }
            _ = fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK)
            workers.append((pid, ends[0]))
        }

        var readers = workers.map { _ in RecordReader() }
        while case let index = counter.take(), index < count {
            collector.add(index, job(index))
            for (i, worker) in workers.enumerated() {
                readers[i].drain(worker.pipe, into: &collector)
            }
        }
        for (i, worker) in workers.enumerated() {
            _ = fcntl(worker.pipe, F_SETFL, fcntl(worker.pipe, F_GETFL) & ~O_NONBLOCK)
            readers[i].drain(worker.pipe, into: &collector)
            close(worker.pipe)
            var status: Int32 = 0
            while waitpid(worker.pid, &status, 0) < 0 && errno == EINTR {}
        }
        // Jobs that a copy took and did not report.
        for index in collector.missing { collector.add(index, job(index)) }
    }

    /// A copy's life: take jobs until none is left, write each report to `descriptor`, and exit.
    private static func serve(counter: SharedCounter, count: Int, job: (Int) -> Report, to descriptor: Int32) -> Never {
        while case let index = counter.take(), index < count {
            let record = Record.encode(index: index, job(index))
            guard writeAll(descriptor, record) else { _exit(1) }
        }
        _exit(0)
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
    }

    /// A counter in memory shared with the forked copies.
    private struct SharedCounter {
        let address: UnsafeMutablePointer<Int>

        init?() {
            let size = MemoryLayout<Int>.size
            let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
            guard let mapped, mapped != MAP_FAILED else { return nil }
            address = mapped.bindMemory(to: Int.self, capacity: 1)
            address.pointee = 0
        }

        /// The next job's index.
        func take() -> Int { tapebook_counter_take(address) }

        func release() { munmap(address, MemoryLayout<Int>.size) }
    }

    /// Reports in, handed out in job order.
    struct Collector {
        private var reports: [Report?]
        private var next = 0
        private let deliver: (Int, Report) -> Void

        init(count: Int, deliver: @escaping (Int, Report) -> Void) {
            reports = Array(repeating: nil, count: count)
            self.deliver = deliver
        }

        mutating func add(_ index: Int, _ report: Report) {
            guard reports.indices.contains(index), reports[index] == nil else { return }
            reports[index] = report
            while next < reports.count, let ready = reports[next] {
                deliver(next, ready)
                next += 1
            }
        }

        var missing: [Int] { reports.indices.filter { reports[$0] == nil } }
    }

    /// A report on the pipe: the job's index and the text's length (8 bytes each, little-endian), a byte
    /// for success, then the text's UTF-8.
    enum Record {
        static let headerSize = 17

        static func encode(index: Int, _ report: Report) -> [UInt8] {
            var bytes: [UInt8] = []
            let text = Array(report.text.utf8)
            bytes.reserveCapacity(headerSize + text.count)
            withUnsafeBytes(of: Int64(index).littleEndian) { bytes.append(contentsOf: $0) }
            withUnsafeBytes(of: Int64(text.count).littleEndian) { bytes.append(contentsOf: $0) }
            bytes.append(report.succeeded ? 1 : 0)
            bytes.append(contentsOf: text)
            return bytes
        }

        /// The first whole record in `bytes[start...]` and where the next one starts; nil while it is incomplete.
        static func decode(_ bytes: [UInt8], from start: Int) -> (index: Int, report: Report, end: Int)? {
            guard bytes.count - start >= headerSize else { return nil }
            func int64(at offset: Int) -> Int {
                var value: Int64 = 0
                for k in (0..<8).reversed() { value = value << 8 | Int64(bytes[start + offset + k]) }
                return Int(value)
            }
            let index = int64(at: 0), length = int64(at: 8)
            guard length >= 0, bytes.count - start - headerSize >= length else { return nil }
            let body = start + headerSize
            let text = String(decoding: bytes[body..<body + length], as: UTF8.self)
            return (index, Report(succeeded: bytes[start + 16] != 0, text: text), body + length)
        }
    }

    /// Reads a copy's pipe, keeping a record that arrives in pieces until it is whole.
    struct RecordReader {
        private var pending: [UInt8] = []
        private var chunk = [UInt8](repeating: 0, count: 65536)

        /// Reads what the pipe has (to its end when it blocks) and adds every whole record to `collector`.
        mutating func drain(_ descriptor: Int32, into collector: inout Collector) {
            while true {
                let got = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, $0.count) }
                if got < 0 && errno == EINTR { continue }
                if got <= 0 { break }
                pending.append(contentsOf: chunk[0..<got])
            }
            var start = 0
            while let (index, report, end) = Record.decode(pending, from: start) {
                collector.add(index, report)
                start = end
            }
            pending.removeFirst(start)
        }
    }
}
