import Glibc
import CZMQ
import CCrypto
import Portable

/// What Jupyter writes to the connection file: where the five sockets listen and the signing key.
public struct ConnectionInfo {
    public var transport = "tcp"
    public var ip = "127.0.0.1"
    public var shellPort = 0, iopubPort = 0, stdinPort = 0, controlPort = 0, heartbeatPort = 0
    public var key: [UInt8] = []
    public var signatureScheme = "hmac-sha256"

    public init(json: JSON) throws {
        func port(_ name: String) throws -> Int {
            guard let p = json[name]?.int, (0...65535).contains(p) else { throw KernelError("the connection file has no valid \(name)") }
            return p
        }
        transport = json["transport"]?.string ?? "tcp"
        ip = json["ip"]?.string ?? "127.0.0.1"
        shellPort = try port("shell_port")
        iopubPort = try port("iopub_port")
        stdinPort = try port("stdin_port")
        controlPort = try port("control_port")
        heartbeatPort = try port("hb_port")
        key = Array((json["key"]?.string ?? "").utf8)
        signatureScheme = json["signature_scheme"]?.string ?? "hmac-sha256"
        guard signatureScheme == "hmac-sha256" || key.isEmpty else {
            throw KernelError("the connection file asks for \(signatureScheme) signatures; tapebook signs with hmac-sha256")
        }
    }

    func endpoint(_ port: Int) -> String {
        transport == "ipc" ? "ipc://\(ip)-\(port)" : "tcp://\(ip):\(port)"
    }
}

public struct KernelError: Error, CustomStringConvertible {
    public var description: String
    init(_ message: String) { description = message }
}

/// HMAC-SHA256 signatures of messages (OpenSSL's libcrypto), as hex; no key means no signature.
struct Signer {
    let key: [UInt8]

    func signature(_ parts: [[UInt8]]) -> String {
        guard !key.isEmpty else { return "" }
        let data = Array(parts.joined())
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), d.baseAddress, d.count, &digest, &length)
            }
        }
        return digest.prefix(Int(length)).map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined()
    }

    /// Whether `signature` is right for the parts, compared in constant time.
    func verify(_ signature: [UInt8], _ parts: [[UInt8]]) -> Bool {
        guard !key.isEmpty else { return true }
        let expected = Array(self.signature(parts).utf8)
        guard expected.count == signature.count else { return false }
        return CRYPTO_memcmp(expected, signature, expected.count) == 0
    }
}

/// One Jupyter message as it arrived or will leave.
struct Message {
    var identities: [[UInt8]] = []
    var header: JSON
    var parentHeader: JSON
    var metadata: JSON
    var content: JSON

    var type: String { header["msg_type"]?.string ?? "" }
}

/// A ZeroMQ socket, with multipart sends and receives.
final class Socket {
    let handle: UnsafeMutableRawPointer

    init(context: UnsafeMutableRawPointer, type: Int32, endpoint: String) throws {
        guard let h = zmq_socket(context, type) else { throw KernelError("cannot make a socket: \(String(cString: zmq_strerror(zmq_errno())))") }
        handle = h
        var linger: Int32 = 1000
        zmq_setsockopt(handle, ZMQ_LINGER, &linger, MemoryLayout<Int32>.size)
        guard zmq_bind(handle, endpoint) == 0 else {
            throw KernelError("cannot listen on \(endpoint): \(String(cString: zmq_strerror(zmq_errno())))")
        }
    }

    /// The frames of one message, or nil when a signal interrupted the wait.
    func receive() -> [[UInt8]]? {
        var frames: [[UInt8]] = []
        while true {
            var message = zmq_msg_t()
            zmq_msg_init(&message)
            defer { zmq_msg_close(&message) }
            let count = zmq_msg_recv(&message, handle, 0)
            if count < 0 {
                if zmq_errno() == EINTR && frames.isEmpty { return nil }
                if zmq_errno() == EINTR { continue }
                return nil
            }
            let bytes = zmq_msg_data(&message).map { Array(UnsafeRawBufferPointer(start: $0, count: Int(count))) } ?? []
            frames.append(bytes)
            if zmq_msg_more(&message) == 0 { return frames }
        }
    }

    func send(_ frames: [[UInt8]]) {
        for (i, frame) in frames.enumerated() {
            let flags = i == frames.count - 1 ? 0 : ZMQ_SNDMORE
            while frame.withUnsafeBytes({ zmq_send(handle, $0.baseAddress, $0.count, flags) }) < 0 && zmq_errno() == EINTR {}
        }
    }
}

/// The kernel's end of the protocol: reads and signs messages, and keeps the headers right.
final class Channels {
    let signer: Signer
    let session = uuid()
    let shell: Socket, control: Socket, iopub: Socket, stdin: Socket, heartbeat: Socket
    let context: UnsafeMutableRawPointer
    static let delimiter = Array("<IDS|MSG>".utf8)

    init(_ info: ConnectionInfo) throws {
        guard let context = zmq_ctx_new() else { throw KernelError("cannot start ZeroMQ") }
        self.context = context
        signer = Signer(key: info.key)
        shell = try Socket(context: context, type: ZMQ_ROUTER, endpoint: info.endpoint(info.shellPort))
        control = try Socket(context: context, type: ZMQ_ROUTER, endpoint: info.endpoint(info.controlPort))
        iopub = try Socket(context: context, type: ZMQ_PUB, endpoint: info.endpoint(info.iopubPort))
        stdin = try Socket(context: context, type: ZMQ_ROUTER, endpoint: info.endpoint(info.stdinPort))
        heartbeat = try Socket(context: context, type: ZMQ_REP, endpoint: info.endpoint(info.heartbeatPort))
    }

    /// Echoes heartbeats on a thread of its own, in C only (zmq_proxy), so a long cell does not look dead.
    func startHeartbeat() {
        var thread = pthread_t()
        pthread_create(&thread, nil, { socket in
            _ = zmq_proxy(socket, socket, nil)
            zmq_close(socket)
            return nil
        }, heartbeat.handle)
        pthread_detach(thread)
    }

    /// Closes the sockets, sending what is still queued (the shutdown reply) within their linger time.
    func close() {
        zmq_ctx_shutdown(context)  // the heartbeat thread's proxy returns, and it closes its socket
        for socket in [shell, control, iopub, stdin] { zmq_close(socket.handle) }
        zmq_ctx_term(context)
    }

    /// The next message on `socket`, checked; nil for a frame set that is not a valid, signed message.
    func read(_ socket: Socket) -> Message? {
        guard let frames = socket.receive(), let split = frames.firstIndex(of: Channels.delimiter), frames.count >= split + 6 else { return nil }
        let parts = Array(frames[(split + 2)...(split + 5)])
        guard signer.verify(frames[split + 1], parts) else {
            StandardStreams.writeError("tapebook kernel: a message with a wrong signature was ignored\n")
            return nil
        }
        do {
            return Message(identities: Array(frames[..<split]), header: try JSON.parse(parts[0]), parentHeader: try JSON.parse(parts[1]),
                           metadata: try JSON.parse(parts[2]), content: try JSON.parse(parts[3]))
        } catch {
            StandardStreams.writeError("tapebook kernel: a message that is not JSON was ignored\n")
            return nil
        }
    }

    /// Sends a message of `type` in reply to (or on behalf of) `parent`.
    func send(_ socket: Socket, _ type: String, _ content: JSON, parent: Message?, identities: [[UInt8]]? = nil, metadata: JSON = .object([])) {
        let header: JSON = .object([
            ("msg_id", .string(uuid())), ("session", .string(session)), ("username", .string("tapebook")),
            ("date", .string(isoDate())), ("msg_type", .string(type)), ("version", .string("5.3")),
        ])
        let parts = [header, parent?.header ?? .object([]), metadata, content].map { Array($0.serialized().utf8) }
        let ids = identities ?? parent?.identities ?? []
        socket.send(ids + [Channels.delimiter, Array(signer.signature(parts).utf8)] + parts)
    }

    /// Publishes on IOPub, with the message type as the topic.
    func publish(_ type: String, _ content: JSON, parent: Message?) {
        send(iopub, type, content, parent: parent, identities: [Array("kernel.\(session).\(type)".utf8)])
    }
}

/// A random version-4 UUID.
func uuid() -> String {
    var bytes = (0..<16).map { _ in UInt8.random(in: 0...255) }
    bytes[6] = (bytes[6] & 0x0F) | 0x40
    bytes[8] = (bytes[8] & 0x3F) | 0x80
    let hex = bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }
    return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }.joined(separator: "-")
}

/// Now, in ISO 8601 with microseconds, UTC.
func isoDate() -> String {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    var t = now.tv_sec
    var parts = tm()
    gmtime_r(&t, &parts)
    func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
    let micro = String(Int(now.tv_nsec) / 1000)
    return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))."
        + String(repeating: "0", count: 6 - micro.count) + micro + "Z"
}
