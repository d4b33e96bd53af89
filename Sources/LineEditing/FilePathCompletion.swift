import FoundationEssentials

/// Completions for a file path typed inside quotes, e.g. `:load "sess` → `sessions/`.
///
/// Each result is `partial` extended to a full entry name; directories end in `/` so the
/// next Tab descends into them. Hidden entries appear only when the typed name starts
/// with `.`. A leading `~/` is expanded for the lookup and kept in the results. Relative
/// paths are resolved against `directory` (default: the current directory). Sorted.
public func completeFilePath(_ partial: String, relativeTo directory: String? = nil) -> [String] {
    let typedDirectory: String
    let namePrefix: String
    if let slash = partial.lastIndex(of: "/") {
        typedDirectory = String(partial[...slash])
        namePrefix = String(partial[partial.index(after: slash)...])
    } else {
        typedDirectory = ""
        namePrefix = partial
    }

    var lookup = typedDirectory
    if lookup.hasPrefix("~/") {
        lookup = FileManager.default.homeDirectoryForCurrentUser.path + lookup.dropFirst(1)
    }
    if !lookup.hasPrefix("/") {
        let base = directory ?? FileManager.default.currentDirectoryPath
        lookup = base + "/" + lookup
    }

    guard let names = try? FileManager.default.contentsOfDirectory(atPath: lookup) else {
        return []
    }
    var completions: [String] = []
    for name in names where name.hasPrefix(namePrefix) {
        if name.hasPrefix(".") && !namePrefix.hasPrefix(".") { continue }
        var isDirectory = false
        _ = FileManager.default.fileExists(atPath: lookup + "/" + name, isDirectory: &isDirectory)
        completions.append(typedDirectory + name + (isDirectory ? "/" : ""))
    }
    return completions.sorted()
}
