/// An error errwatch reports to a person: a code a program can match and one sentence that
/// names the problem, the bad value, and what to do.
public struct ErrWatchError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem this is; new codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        private init(_ name: String) { self.name = name }
        /// A flag, option or query parameter has a value errwatch cannot use.
        public static let invalidArgument = Code("invalid_argument")
        /// An input record (an ingest line, an event) is malformed.
        public static let invalidInput = Code("invalid_input")
        /// The database cannot be used as it is (newer schema, not an errwatch file, unreadable).
        public static let database = Code("database_error")
        /// A configuration file is wrong.
        public static let configuration = Code("configuration_error")
        public var description: String { name }
    }

    /// The kind of problem.
    public let code: Code
    /// The sentence for the person.
    public let message: String

    /// An error of kind `code` that says `message`.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
