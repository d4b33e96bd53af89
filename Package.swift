// swift-tools-version:5.9
import PackageDescription

/// Release builds of the hot modules skip overflow and exclusivity checks at run time: the kernels check
/// their shapes and bounds themselves.
///
/// They also count references without atomic instructions (`-assume-single-threaded`): the interpreter
/// retains and releases values about a million times in a long loop (measurements: docs/DECISIONS.md, "Measurements behind the code").
/// Only the main thread touches Swift objects. The other threads these modules start touch none:
/// `BLAS.openInBackground`'s runs `dlopen` and `dlsym` and stores C pointers, and `SharedChunks`' helper runs
/// kernels over raw pointers (and OpenBLAS, which runs no threads of its own). A new thread that shares
/// Swift objects would need this flag gone. Tests build without it (debug).
let fast: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked", "-assume-single-threaded"], .when(configuration: .release))]
/// The parser and the renderers keep their run-time checks (they read whatever a user types) but count references
/// without atomic instructions as the modules above do: they run on the main thread only.
let singleThreaded: [SwiftSetting] = [.unsafeFlags(["-assume-single-threaded"], .when(configuration: .release))]

let package = Package(
    name: "tapebook",
    products: [
        .executable(name: "tapebook", targets: ["tapebook"]),
        .executable(name: "tapebook-kernel", targets: ["tapebook-kernel"]),
        .library(name: "TapeLanguage", targets: ["TapeLanguage"]),
    ],
    targets: [
        // C APIs: OpenBLAS for matrix products, libedit for line editing.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .target(name: "CLibEdit", path: "Sources/CLibEdit"),

        // What the project took from Foundation, on the standard library, libc and FoundationEssentials:
        // printf formatting, trimming and searching text, path strings, error texts, clocks, processes.
        .target(name: "Portable", dependencies: ["CPortable"]),
        // C helpers: snprintf for one double, called without CVarArg.
        .target(name: "CPortable", path: "Sources/CPortable"),

        // Float64 n-d arrays: shapes, broadcasting, kernels, BLAS, files.
        .target(name: "TensorCore", dependencies: ["CBLAS", "CPortable", "Portable"], swiftSettings: fast),
        // Primitives and their rules, the tapes, grad / jacobian / hessian / jvp.
        .target(name: "Autodiff", dependencies: ["TensorCore", "Portable"], swiftSettings: fast),
        // Source spans, lexer, parser, syntax tree.
        .target(name: "TapeSyntax", swiftSettings: singleThreaded),
        // Pure strings: tensors, diagnostics, tables, plots, graphs.
        .target(name: "Rendering", dependencies: ["TensorCore", "Portable"], swiftSettings: singleThreaded),
        // Evaluator, built-ins, session, session files, transcripts.
        .target(name: "TapeLanguage", dependencies: ["TensorCore", "Autodiff", "TapeSyntax", "Rendering", "Portable"],
                swiftSettings: fast),
        // Line reader protocol, libedit reader, plain reader.
        .target(name: "LineEditing", dependencies: ["CLibEdit", "Portable"]),
        // The executable: command line, REPL loop, exit codes.
        .executableTarget(name: "tapebook", dependencies: [
            "TapeLanguage", "LineEditing", "Rendering", "Portable", "TensorCore",
        ]),

        // The Jupyter kernel: ZeroMQ for the sockets, libcrypto for HMAC-SHA256 signatures. In a second
        // executable, which `tapebook kernel` execs, so that the notebook's own start-up loads neither.
        .systemLibrary(name: "CZMQ", path: "Sources/CZMQ"),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),
        .target(name: "JupyterKernel", dependencies: ["CZMQ", "CCrypto", "TapeLanguage", "Autodiff", "Rendering", "Portable", "TensorCore", "TapeSyntax", "LineEditing"]),
        .executableTarget(name: "tapebook-kernel", dependencies: ["JupyterKernel"]),

        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore"]),
        .testTarget(name: "AutodiffTests", dependencies: ["Autodiff", "TensorCore"]),
        .testTarget(name: "TapeSyntaxTests", dependencies: ["TapeSyntax"]),
        .testTarget(name: "RenderingTests", dependencies: ["Rendering", "TensorCore"]),
        .testTarget(name: "TapeLanguageTests", dependencies: ["TapeLanguage", "Portable", "Rendering"]),
        .testTarget(name: "LineEditingTests", dependencies: ["LineEditing", "TestSupport"]),
        .testTarget(name: "PortableTests", dependencies: ["Portable"]),
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport", "tapebook", "Rendering"]),
        .testTarget(name: "JupyterKernelTests", dependencies: ["JupyterKernel", "Portable"]),
        // What the end-to-end tests share: finding and running the binary, a pseudo terminal.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
    ]
)
