import ArgumentParser
@testable import ErrWatchCLI
import ErrWatchCore
import ErrWatchStore
import ErrWatchTestKit
import Foundation
import GRDB
import Testing

/// 2026-11-26T00:00:00Z.
let now: Int64 = 1_795_651_200_000

/// Lines of a small NDJSON file: 3 calls of gpt-4o (one 429), 2 of claude (one HTML 502), one timeout.
let sample = """
    {"ts":"2026-11-25T23:10:00.000Z","status":200,"app":"chat","endpoint":"/v1/chat/completions","model":"gpt-4o","latency_ms":300,"count":2}
    {"ts":"2026-11-25T23:20:00.000Z","status":429,"app":"chat","endpoint":"/v1/chat/completions","model":"gpt-4o","type":"rate_limit_error","code":"rate_limit_exceeded","message":"Rate limit, key sk-abcdefgh12345678","request_id":"req_1"}

    {"ts":"2026-11-25T23:30:00.000Z","status":200,"app":"chat","endpoint":"/v1/chat/completions","model":"claude"}
    {"ts":"2026-11-25T23:40:00.000Z","status":502,"app":"chat","endpoint":"/v1/chat/completions","model":"claude","body":"<html><title>502 Bad Gateway</title></html>","attempt":1}
    {"ts":"2026-11-25T23:50:00.000Z","status":0,"app":"batch","endpoint":"/v1/embeddings","model":"text-embedding-3-small","type":"timeout_error","message":"=HYPERLINK(\\"http://x\\"), no response"}

    """

@Suite struct IngestCommandTests {
    @Test func recordsAFileAndSaysWhat() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let file = try workspace.write("sample.ndjson", sample)
        let db = workspace.path("e.db")
        let result = await errwatch(["ingest", "--db", db, file], now: now)
        #expect(result.exitCode == 0)
        #expect(result.stdout == "Recorded 6 outcomes (3 errors).\n")
        #expect(result.stderr == "")
        let store = try Store.open(path: db)
        let rows = try store.rates(Filter(since: now - 3_600_000, until: now), by: [])
        #expect(rows[0].calls == 6 && rows[0].errors == 3)
    }

    @Test func oneBadLineRejectsTheWholeFileAndWritesNothing() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let file = try workspace.write("bad.ndjson", sample + #"{"ts":"2026-11-25T23:55:00Z","status":"oops"}"# + "\n" + "not json\n")
        let db = workspace.path("e.db")
        let result = await errwatch(["ingest", "--db", db, file], now: now)
        #expect(result.exitCode == 1)
        #expect(result.stderr == """
            \(file):7: 'status' must be a whole number, got a string
            \(file):8: not valid JSON

            """)
        #expect(result.stdout == "Rejected \(file): 2 invalid lines; nothing was recorded. Fix them, or pass --skip-invalid to record the valid lines.\n")
        let store = try Store.open(path: db)
        #expect(try store.rates(Filter(since: 0, until: now), by: [])[0].calls == 0)
        #expect(try store.errors(Filter(since: 0, until: now), limit: 10).events.isEmpty)
    }

    @Test func skipInvalidRecordsTheGoodLines() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let file = try workspace.write("bad.ndjson", #"{"status":200}"# + "\n" + sample)
        let result = await errwatch(["ingest", "--db", workspace.path("e.db"), "--skip-invalid", file], now: now)
        // It did what was asked: the skipped line is reported, not a failure.
        #expect(result.exitCode == 0)
        #expect(result.stderr == "\(file):1: missing required field 'ts'\n")
        #expect(result.stdout == "Recorded 6 outcomes (3 errors); skipped 1 invalid line.\n")
    }

    @Test func readsStandardInputAndPrintsJSON() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let result = await errwatch(["ingest", "--db", workspace.path("e.db"), "--format", "json", "-"], now: now, stdin: sample)
        #expect(result.exitCode == 0)
        #expect(result.stdout == "[\n  {\"outcomes\": 6, \"errors\": 3, \"rejected\": 0}\n]\n")
    }

    @Test func aMissingFileIsOneClearLine() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let result = await errwatch(["ingest", "--db", workspace.path("e.db"), workspace.path("nope.ndjson")], now: now)
        // The command was written right; the file is missing: a failure (1), not a usage error (64).
        #expect(result.exitCode == 1)
        #expect(result.stderr.hasPrefix("Error: Cannot read '\(workspace.path("nope.ndjson"))'; check that it exists and is readable.\n"))
    }

    @Test func theSameFileTwiceIsRefusedUnlessAskedAgain() async throws {
        let workspace = try Workspace()
        defer { workspace.cleanup() }
        let db = workspace.path("e.db")
        let file = try workspace.write("sample.ndjson", sample)
        #expect(await errwatch(["ingest", "--db", db, file], now: now).exitCode == 0)
        let calls = { try Store.open(path: db).rates(Filter(since: 0, until: .max / 2), by: [])[0].calls }
        let once = try calls()
        let twice = await errwatch(["ingest", "--db", db, file], now: now)
        #expect(twice.exitCode == 1)
        #expect(twice.stderr.contains("was ingested already") && twice.stderr.contains("--again"), "\(twice.stderr)")
        #expect(try calls() == once, "nothing counted twice")
        // The same lines through standard input are the same file.
        #expect(await errwatch(["ingest", "--db", db, "-"], now: now, stdin: sample).exitCode == 1)
        let again = await errwatch(["ingest", "--db", db, "--again", file], now: now)
        #expect(again.exitCode == 0)
        #expect(try calls() == 2 * once)
    }
}

@Suite struct QueryCommandTests {
    let workspace: Workspace
    let db: String

    init() async throws {
        workspace = try Workspace()
        db = workspace.path("e.db")
        let file = try workspace.write("sample.ndjson", sample)
        // Recorded as host web-1, a name every machine running the tests shares.
        let result = await errwatch(["ingest", "--db", db, file], environment: ["ERRWATCH_HOST_NAME": "web-1"], now: now)
        precondition(result.exitCode == 0, result.stderr)
    }

    /// Every command leaves the database as one file: no WAL beside it once it is done.
    @Test func commandsLeaveNoWALBehind() async throws {
        defer { workspace.cleanup() }
        #expect(!FileManager.default.fileExists(atPath: db + "-wal"), "ingest left a WAL")
        for arguments in [["rates", "--window", "1h"], ["errors", "--since", "1h"], ["trend", "--since", "1h"], ["export", "--report", "events", "--since", "1h"]] {
            let result = await errwatch(arguments + ["--db", db], now: now)
            #expect(result.exitCode == 0, "\(arguments[0]): \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: db + "-wal"), "\(arguments[0]) left a WAL")
        }
    }

    /// A backup is one whole file, even while a writer holds the latest writes in the WAL.
    @Test func backupCopiesALiveDatabaseIntoOneFile() async throws {
        defer { workspace.cleanup() }
        let live = try Store.open(path: db)
        try live.record([CallOutcome(timestamp: now - 60_000, app: "late", endpoint: "e", status: 200)])
        #expect(FileManager.default.fileExists(atPath: db + "-wal"), "the write is still in the WAL")
        let target = workspace.path("backup.db")
        let result = await errwatch(["backup", "--db", db, target], now: now)
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: target + "-wal"))
        // The history is its owner's alone, in the copy as in the database.
        let mode = try FileManager.default.attributesOfItem(atPath: target)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let copied = try Store.open(path: target).rates(Filter(since: 0, until: .max / 2), by: [])[0].calls
        let original = try live.rates(Filter(since: 0, until: .max / 2), by: [])[0].calls
        #expect(copied == original)
        let again = await errwatch(["backup", "--db", db, target], now: now)
        #expect(again.exitCode == 64 && again.stderr.contains("exists already"))
    }

    @Test func aMistypedCommandIsNamedWithTheNearestOne() async throws {
        defer { workspace.cleanup() }
        let typo = await errwatch(["rate", "--db", db], now: now)
        #expect(typo.exitCode == 64)
        #expect(typo.stderr.contains("Unknown command 'rate'; did you mean 'rates'?"), "\(typo.stderr)")
        let unknown = await errwatch(["frobnicate"], now: now)
        #expect(unknown.stderr.contains("Unknown command 'frobnicate'; the commands are: demo, agent"))
    }

    /// A range with no calls says so, and where the calls are, instead of rows of zeros.
    @Test func anEmptyRangeSaysWhereTheCallsAre() async throws {
        defer { workspace.cleanup() }
        let later = now + 30 * Timestamp.day
        let rates = await errwatch(["rates", "--db", db, "--window", "1h"], now: later)
        #expect(rates.stdout.hasPrefix("No calls recorded from "), "\(rates.stdout)")
        #expect(rates.stdout.contains("try --until 2026-11-25T23:51:00.000Z."), "\(rates.stdout)")
        let trend = await errwatch(["trend", "--db", db, "--since", "1h"], now: later)
        #expect(trend.stdout.split(separator: "\n").count == 1, "one line, not rows of zeros: \(trend.stdout)")
        #expect(trend.stdout.contains("try --since 2026-11-25T23:10:00.000Z --until 2026-11-25T23:51:00.000Z."), "\(trend.stdout)")
    }

    @Test func errorsAsATable() async throws {
        defer { workspace.cleanup() }
        let result = await errwatch(["errors", "--db", db, "--since", "1h"], now: now)
        #expect(result.exitCode == 0)
        // The columns a person scans for; JSON and CSV carry every field.
        #expect(result.stdout == """
            TS              APP    MODEL                   STATUS  TYPE              CODE                 MESSAGE
            11-25 23:50:00  batch  text-embedding-3-small       -  timeout_error     -                    =HYPERLINK("http://x"), no response
            11-25 23:40:00  chat   claude                     502  upstream_error    html_body            502 Bad Gateway
            11-25 23:20:00  chat   gpt-4o                     429  rate_limit_error  rate_limit_exceeded  Rate limit, key sk-***5678

            """)
    }

    @Test func errorsAsJSONWithTheDocumentedFieldNames() async throws {
        defer { workspace.cleanup() }
        let result = await errwatch(["errors", "--db", db, "--type", "rate_limit_error", "--format", "json"], now: now)
        #expect(result.stdout == """
            [
              {"ts": "2026-11-25T23:20:00.000Z", "app": "chat", "endpoint": "chat/completions", "model": "gpt-4o", "status": 429, "type": "rate_limit_error", "code": "rate_limit_exceeded", "message": "Rate limit, key sk-***5678", "retryable": true, "attempt": 0, "latency_ms": null, "request_id": "req_1", "time_to_headers_ms": null, "provider_type": "", "provider_code": "", "fault": "provider", "retry_after_ms": null, "upstream": "", "provider": "", "host": "web-1"}
            ]

            """)
        let parsed = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]]
        #expect(parsed?.count == 1)
    }

    @Test func errorsAsCSVWithFormulasNeutralised() async throws {
        defer { workspace.cleanup() }
        let result = await errwatch(["errors", "--db", db, "--status", "0", "--format", "csv"], now: now)
        #expect(result.stdout == "ts,app,endpoint,model,status,type,code,message,retryable,attempt,latency_ms,request_id,time_to_headers_ms,provider_type,provider_code,fault,retry_after_ms,upstream,provider,host\r\n"
            + "2026-11-25T23:50:00.000Z,batch,embeddings,text-embedding-3-small,,timeout_error,,\"'=HYPERLINK(\"\"http://x\"\"), no response\",true,0,,,,,,network,,,,web-1\r\n")
    }

    @Test func errorsPagesWithACursor() async throws {
        defer { workspace.cleanup() }
        let first = await errwatch(["errors", "--db", db, "--limit", "2", "--format", "csv"], now: now)
        #expect(first.stdout.components(separatedBy: "\r\n").count == 4)
        let cursor = try #require(first.stderr.split(separator: " ").last?.trimmingCharacters(in: .newlines))
        #expect(first.stderr == "next page: --cursor \(cursor)\n")
        let second = await errwatch(["errors", "--db", db, "--limit", "2", "--format", "csv", "--cursor", cursor], now: now)
        #expect(second.stdout.contains("2026-11-25T23:20:00.000Z"))
        #expect(second.stdout.components(separatedBy: "\r\n").count == 3)
        #expect(second.stderr == "")
    }

    @Test func ratesGroupedAsJSONAndTable() async throws {
        defer { workspace.cleanup() }
        let json = await errwatch(["rates", "--db", db, "--window", "1h", "--by", "model", "--format", "json"], now: now)
        #expect(json.stdout == """
            [
              {"model": "gpt-4o", "calls": 3, "errors": 1, "error_rate": 0.3333333333333333},
              {"model": "claude", "calls": 2, "errors": 1, "error_rate": 0.5},
              {"model": "text-embedding-3-small", "calls": 1, "errors": 1, "error_rate": 1}
            ]

            """)
        let table = await errwatch(["rates", "--db", db, "--window", "1h", "--by", "app,status"], now: now)
        // A status narrows the errors, not the calls: each status's share of all of chat's calls.
        #expect(table.stdout == """
            APP    STATUS  CALLS  ERRORS  ERROR_RATE
            chat      429      5       1      20.00%
            chat      502      5       1      20.00%
            batch       -      1       1     100.00%

            """)
    }

    @Test func ratesWindowEndsAtUntil() async throws {
        defer { workspace.cleanup() }
        let result = await errwatch(["rates", "--db", db, "--window", "15m", "--until", "2026-11-25T23:30:00Z", "--format", "csv"], now: now)
        #expect(result.stdout == "calls,errors,error_rate\r\n1,1,1\r\n")
    }

    @Test func trendStatesTheDirectionWithItsNumbers() async throws {
        defer { workspace.cleanup() }
        let result = await errwatch(["trend", "--db", db, "--since", "1h", "--bucket", "30m"], now: now)
        #expect(result.exitCode == 0)
        #expect(result.stdout == """
            BUCKET                    CALLS  ERRORS  ERROR_RATE  RATE
            2026-11-25T23:00:00.000Z      3       1      33.33%  ▅
            2026-11-25T23:30:00.000Z      3       2      66.67%  █
            Error rate 50.00%; no calls in the previous 1h to compare with; slope +66.667 points/h: RISING.  ▅█

            """)
        let json = await errwatch(["trend", "--db", db, "--since", "1h", "--bucket", "30m", "--format", "json"], now: now)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(parsed.first?["direction"] as? String == "rising")
        #expect((parsed.first?["points"] as? [Any])?.count == 2)
    }

    @Test func badArgumentsAreOnePreciseLineAndUsage() async throws {
        defer { workspace.cleanup() }
        let badBy = await errwatch(["rates", "--db", db, "--by", "region"], now: now)
        #expect(badBy.exitCode == 64)
        #expect(badBy.stderr.hasPrefix("Error: Unknown dimension 'region'; group by any of: app, endpoint, model, upstream, provider, host, status, type, code, fault.\n"))
        // The command's own usage, not the root's.
        #expect(badBy.stderr.contains("Usage: errwatch rates"), "\(badBy.stderr)")
        let badSince = await errwatch(["errors", "--db", db, "--since", "yesterday"], now: now)
        #expect(badSince.exitCode == 64)
        #expect(badSince.stderr.hasPrefix("Error: Invalid --since 'yesterday'; give a span back from now (30s, 5m, 1h, 7d), 'now', or an ISO-8601 time such as 2026-11-25T10:00:00Z.\n"))
        let badStatus = await errwatch(["errors", "--db", db, "--status", "6xx"], now: now)
        #expect(badStatus.stderr.hasPrefix("Error: Invalid --status '6xx'; give HTTP statuses such as 429 or 5xx, or 0 for no response.\n"))
        let badBucket = await errwatch(["trend", "--db", db, "--bucket", "30s"], now: now)
        #expect(badBucket.stderr.hasPrefix("Error: Invalid --bucket '30s'; counts are per minute, so give whole minutes such as 1m, 5m or 1h.\n"))
    }

    @Test func theDatabaseComesFromTheFlagThenTheEnvironment() async throws {
        defer { workspace.cleanup() }
        let viaEnvironment = await errwatch(["rates", "--format", "csv"], environment: ["ERRWATCH_DB": db], now: now)
        #expect(viaEnvironment.stdout == "calls,errors,error_rate\r\n6,3,0.5\r\n")
        let other = workspace.path("missing.db")
        let flagWins = await errwatch(["rates", "--db", other], environment: ["ERRWATCH_DB": db], now: now)
        #expect(flagWins.exitCode == 1)
        #expect(flagWins.stderr == "Error: No database at '\(other)'; record outcomes first (errwatch ingest FILE) or point --db / ERRWATCH_DB at an errwatch database.\n")
        #expect(!FileManager.default.fileExists(atPath: other))
        #expect(try DatabaseOptions.parse([]).path(environment: [:]) == "./errwatch.db")
        #expect(try DatabaseOptions.parse([]).path(environment: ["ERRWATCH_DB": db]) == db)
    }

    @Test func migrateReportsTheSchema() async throws {
        defer { workspace.cleanup() }
        let result = await errwatch(["migrate", "--db", db, "--format", "csv"], now: now)
        #expect(result.stdout == "database,migration\r\n\(db),0001_initial\r\n\(db),0002_time_to_headers\r\n\(db),0003_final_attempts\r\n\(db),0004_alerts\r\n\(db),0005_latency_histogram\r\n\(db),0006_provider_fields\r\n\(db),0007_ingested_files\r\n\(db),0008_retention\r\n\(db),0009_first_token\r\n\(db),0010_provider_host\r\n")
    }

    @Test func pruneDeletesWholeDays() async throws {
        defer { workspace.cleanup() }
        let keep = await errwatch(["prune", "--db", db, "--older-than", "25m", "--format", "csv"], now: now)
        #expect(keep.stdout == "cutoff,deleted_rows\r\n2026-11-25T00:00:00.000Z,0\r\n")
        // A day later, the sample's day is past the cut: a dry run counts it and deletes nothing.
        let dry = await errwatch(["prune", "--db", db, "--older-than", "1s", "--dry-run", "--format", "csv"], now: now + Timestamp.day)
        #expect(dry.stdout == "cutoff,would_delete_rows\r\n2026-11-26T00:00:00.000Z,18\r\n")
        let before = await errwatch(["rates", "--db", db, "--window", "1h", "--format", "csv"], now: now)
        #expect(before.stdout.hasPrefix("calls,errors,error_rate\r\n") && !before.stdout.contains("\r\n0,0,"))
        let drop = await errwatch(["prune", "--db", db, "--older-than", "1s", "--format", "csv"], now: now + Timestamp.day)
        // 3 error rows, 5 minute rows, 5 hourly rows (one per series), 5 daily rows.
        #expect(drop.stdout == "cutoff,deleted_rows\r\n2026-11-26T00:00:00.000Z,18\r\n")
        let left = await errwatch(["rates", "--db", db, "--window", "1h", "--format", "csv"], now: now)
        #expect(left.stdout == "calls,errors,error_rate\r\n0,0,\r\n")
        // Not a quiet hour: the rates say the range was pruned.
        #expect(left.stderr.hasPrefix("note: call counts before 2026-11-26T00:00:00.000Z were deleted by retention (retain_rollups)"))
    }
}

@Suite struct HelpTextTests {
    /// Help is wrapped once, at 80 columns: no line of a discussion is cut to one or two words
    /// before the sentence goes on (what wrapping a hand-wrapped text again leaves).
    @Test func helpHasNoOrphanWords() throws {
        var commands: [any ParsableCommand.Type] = []
        func collect(_ command: any ParsableCommand.Type) {
            commands.append(command)
            command.configuration.subcommands.forEach(collect)
        }
        collect(ErrWatchCommand.self)
        var orphans: [String] = []
        for command in commands {
            let help = ErrWatchCommand.helpMessage(for: command, columns: 80)
            let discussion = help.components(separatedBy: "USAGE:")[0].split(separator: "\n", omittingEmptySubsequences: false)
            for (line, next) in zip(discussion, discussion.dropFirst()) where !line.hasPrefix(" ") && !line.isEmpty
                && line.split(separator: " ").count <= 2 && !line.hasSuffix(":") && !next.isEmpty && !next.hasPrefix(" ") {
                orphans.append("\(command.configuration.commandName ?? "?"): '\(line)'")
            }
            // An example is a command to copy: it fits on its line, never wrapped.
            let examples = discussion.drop { $0 != "Examples:" && $0 != "Example:" }.dropFirst().prefix { !$0.isEmpty }
            for line in examples where !line.hasPrefix("  ") {
                orphans.append("\(command.configuration.commandName ?? "?"): example wrapped at '\(line)'")
            }
        }
        #expect(orphans.isEmpty, "\(orphans)")
    }
}
