import FoundationEssentials
import Glibc

/// The sentence Foundation's `localizedDescription` gave for an error on Linux, e.g. "The operation
/// could not be completed. The file doesn’t exist." for a file that is missing.
///
/// File errors from FoundationEssentials (`CocoaError`) get the reason Foundation kept for their code,
/// `POSIXError`s the C library's message, `LocalizedError`s their own description, and anything else
/// "(DOMAIN error CODE.)".
public func errorDescription(_ error: Error) -> String {
    if let localized = error as? LocalizedError, let description = localized.errorDescription {
        return description
    }
    let prefix = "The operation could not be completed. "
    if let cocoa = error as? CocoaError {
        let code = cocoa.code.rawValue
        return prefix + (cocoaReasons[code] ?? "(NSCocoaErrorDomain error \(code).)")
    }
    if let posix = error as? POSIXError {
        return prefix + String(cString: strerror(posix.code.rawValue))
    }
    return prefix + "(\(error._domain) error \(error._code).)"
}

/// The C library's message for an `errno`, e.g. "No such file or directory".
public func systemErrorText(_ code: Int32) -> String { String(cString: strerror(code)) }

/// Foundation's reasons for the file error codes and a few general ones; the others have none.
private let cocoaReasons: [Int: String] = [
    4: "The file doesn’t exist.",                                          // fileNoSuchFile
    255: "The file couldn’t be locked.",                                   // fileLocking
    257: "You don’t have permission.",                                     // fileReadNoPermission
    258: "The file name is invalid.",                                      // fileReadInvalidFileName
    259: "The file isn’t in the correct format.",                          // fileReadCorruptFile
    260: "The file doesn’t exist.",                                        // fileReadNoSuchFile
    261: "The specified text encoding isn’t applicable.",                  // fileReadInapplicableStringEncoding
    262: "The specified URL type isn’t supported.",                        // fileReadUnsupportedScheme
    263: "The item is too large.",                                         // fileReadTooLarge
    264: "The text encoding of the contents couldn’t be determined.",      // fileReadUnknownStringEncoding
    513: "You don’t have permission.",                                     // fileWriteNoPermission
    514: "The file name is invalid.",                                      // fileWriteInvalidFileName
    516: "A file with the same name already exists.",                      // fileWriteFileExists
    517: "The specified text encoding isn’t applicable.",                  // fileWriteInapplicableStringEncoding
    518: "The specified URL type isn’t supported.",                        // fileWriteUnsupportedScheme
    640: "There isn’t enough space.",                                      // fileWriteOutOfSpace
    642: "The volume is read only.",                                       // fileWriteVolumeReadOnly
    1024: "The value is invalid.",                                         // keyValueValidation
    2048: "The value is invalid.",                                         // formatting
    3072: "The operation was cancelled.",                                  // userCancelled
    3328: "The requested operation is not supported.",                     // featureUnsupported
]
