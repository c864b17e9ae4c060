import ArgumentParser
import ErrWatchCore
import ErrWatchReport
import ErrWatchStore
import Foundation

/// `errwatch ingest`: records outcomes from newline-delimited JSON.
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Records call outcomes from a file of newline-delimited JSON.",
        discussion: helpText("""
            One JSON object per line; blank lines are skipped. Required: "ts" (ISO-8601 or
            milliseconds since 1970) and "status" (the HTTP status; 0 or null for no response).
            Optional: "app", "endpoint", "model", "upstream", "provider", "host" (the machine that made the
            call; this one's host name when absent), "type", "code", "message", "retryable",
            "attempt", "latency_ms", "request_id", "streamed", "count" (identical successes the
            line stands for), and "body" (a raw error body, classified when "type" is absent).
            A status below 400 without "type" is a success.

            A bad line is reported with its number and reason. By default one bad line rejects
            the whole file and nothing is written; with --skip-invalid the good lines are
            written. The exit status is 1 when anything was rejected.

            Examples:
              errwatch ingest outcomes.ndjson
              my-app-logs | errwatch ingest --skip-invalid -
            """))

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var output: FormatOptions

    @Argument(help: ArgumentHelp("The file to read, or - for standard input.", valueName: "file"))
    var file: String

    @Flag(name: .customLong("skip-invalid"), help: "Write the valid lines and report the rest, instead of rejecting the file.")
    var skipInvalid = false

    @Flag(help: "Record a file that was ingested before (its calls are counted again).")
    var again = false

    /// Rejections printed at most; the rest are counted.
    static let maxReported = 20

    private struct Rejected: Error {}

    func run() async throws {
        let context = CommandContext.current
        let handle: FileHandle
        if file == "-" {
            handle = context.standardInput()
        } else {
            guard let opened = FileHandle(forReadingAtPath: file) else {
                // Not a usage mistake: the command was right, the file is not there.
                throw ErrWatchError(.invalidInput, "Cannot read '\(file)'; check that it exists and is readable.")
            }
            handle = opened
        }
        defer { if file != "-" { try? handle.close() } }

        let store = try database.openForWriting()
        // A file first written by ingest records under this host, as an agent's does.
        if try store.identity().host.isEmpty { try store.claimIdentity() }
        let decoder = OutcomeDecoder(now: context.now())
        var reader = LineReader(handle: handle)
        var rejected = 0
        var lineNumber = 0
        func reject(_ reason: String) {
            rejected += 1
            if rejected <= Self.maxReported { context.warn("\(file == "-" ? "stdin" : file):\(lineNumber): \(reason)") }
        }

        var summary = Store.RecordSummary(outcomes: 0, errors: 0)
        do {
            var fingerprint = Fingerprint()
            let name = file == "-" ? "standard input" : file
            summary = try store.recordAll(file: { (name, fingerprint.hex, context.now()) }, allowRepeat: again) { add in
                while let line = try reader.next() {
                    lineNumber += 1
                    switch line {
                    case .tooLong:
                        fingerprint.add("\u{0}too long")
                        reject("line is longer than 1 MiB")
                    case .text(let text):
                        fingerprint.add(text)
                        if text.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
                        let outcome: CallOutcome
                        do throws(ErrWatchError) {
                            outcome = try decoder.decode(line: text)
                        } catch {
                            reject(error.message)
                            continue
                        }
                        // Once a line is bad and the file will be rejected, keep reading only to report.
                        if skipInvalid || rejected == 0 { try add(outcome) }
                    }
                }
                if rejected > 0, !skipInvalid { throw Rejected() }
            }
            try store.rollUp(now: context.now())
        } catch is Rejected {
            summary = Store.RecordSummary(outcomes: 0, errors: 0)
        }
        if rejected > Self.maxReported {
            context.warn("… and \(rejected - Self.maxReported) more rejected lines")
        }
        if output.format == .table {
            if rejected > 0, !skipInvalid {
                context.print("Rejected \(file): \(rejected) invalid line\(rejected == 1 ? "" : "s"); nothing was recorded. Fix them, or pass --skip-invalid to record the valid lines.")
            } else {
                context.print("Recorded \(summary.outcomes) outcome\(summary.outcomes == 1 ? "" : "s") (\(summary.errors) error\(summary.errors == 1 ? "" : "s"))\(rejected > 0 ? "; skipped \(rejected) invalid line\(rejected == 1 ? "" : "s")" : "").")
            }
        } else {
            Report(columns: ["outcomes", "errors", "rejected"], rows: [[.integer(Int64(summary.outcomes)), .integer(Int64(summary.errors)), .integer(Int64(rejected))]])
                .render(output.format, to: context.standardOutput)
        }
        // With --skip-invalid the command did what was asked: the skipped lines are reported, not a failure.
        if rejected > 0, !skipInvalid { throw ExitCode(1) }
    }
}

/// A fingerprint of the lines of an ingested file (64-bit FNV-1a over each line and its end),
/// to recognise the same file given again; line ends CRLF or LF read alike.
struct Fingerprint {
    private var value: UInt64 = 0xCBF2_9CE4_8422_2325
    private var lines = 0

    mutating func add(_ line: some StringProtocol) {
        for byte in line.utf8 { value = (value ^ UInt64(byte)) &* 0x100_0000_01B3 }
        value = (value ^ 0x0A) &* 0x100_0000_01B3
        lines += 1
    }

    var hex: String { String(value, radix: 16) + "-" + String(lines) }
}
