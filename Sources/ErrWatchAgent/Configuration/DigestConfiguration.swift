import ErrWatchCore
import Foundation
import Yams

/// A scheduled summary of a period, sent through notifiers: the file's `digests` list.
public struct DigestConfiguration: Sendable, Hashable {
    public var name: String
    public var schedule: DigestSchedule
    /// The groups of its lines.
    public var by: [ErrWatchCore.Dimension] = [.model]
    /// The notifiers it goes to.
    public var notify: [String] = []

    /// A digest named `name` sent on `schedule`.
    public init(name: String, schedule: DigestSchedule) {
        self.name = name
        self.schedule = schedule
    }

    static let keys = ["name", "every", "at", "weekday", "time_zone", "by", "notify"]
}

extension AlertsConfiguration {
    /// Reads the `digests` list of a configuration file; notifiers must be read first.
    mutating func applyDigests(_ node: Node, path: String) throws(ErrWatchError) {
        digests = []
        for item in try Self.sequence(node, what: "digests", path: path) {
            let fields = try Self.mapping(item, what: "a digest", path: path)
            let line = Self.line(item)
            guard let name = fields["name"]?.text, !name.isEmpty else {
                throw ErrWatchError(.configuration, "A digest (\(path) line \(line)) has no name; give each digest a name.")
            }
            guard !digests.contains(where: { $0.name == name }) else {
                throw ErrWatchError(.configuration, "Digest '\(name)' (\(path) line \(line)) is defined twice; give each digest its own name.")
            }
            var digest = DigestConfiguration(name: name, schedule: DigestSchedule(every: .daily, hour: 9, minute: 0, timeZone: TimeZone(identifier: "UTC")!))
            for (key, field) in fields.sorted(by: { $0.value.line < $1.value.line }) {
                let origin = "digest '\(name)' (\(path) line \(field.line))"
                func invalid(_ advice: String) -> ErrWatchError {
                    ErrWatchError(.configuration, "Invalid \(key) '\(field.text ?? "")' of \(origin); \(advice).")
                }
                switch key {
                case "name": break
                case "every":
                    guard let every = DigestSchedule.Every(rawValue: field.text ?? "") else { throw invalid("use daily or weekly") }
                    digest.schedule.every = every
                case "at":
                    let parts = (field.text ?? "").split(separator: ":", omittingEmptySubsequences: false)
                    guard parts.count == 2, parts[1].count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]),
                          (0...23).contains(hour), (0...59).contains(minute)
                    else { throw invalid("give a 24-hour time such as 09:00") }
                    digest.schedule.hour = hour
                    digest.schedule.minute = minute
                case "weekday":
                    guard let index = DigestSchedule.weekdays.firstIndex(of: (field.text ?? "").lowercased()) else {
                        throw invalid("give a day such as monday")
                    }
                    digest.schedule.weekday = index + 1
                case "time_zone":
                    guard let zone = TimeZone(identifier: field.text ?? "") else {
                        throw invalid("give an IANA time zone such as Europe/Berlin or UTC")
                    }
                    digest.schedule.timeZone = zone
                case "by":
                    do { digest.by = try ErrWatchCore.Dimension.parseList(field.list.joined(separator: ",")) } catch { throw invalid(error.message) }
                case "notify":
                    let names = field.list
                    try checkNotifiers(names, origin: origin)
                    for notifier in notifiers where names.contains(notifier.name) {
                        guard notifier.kind != .alertmanager else {
                            throw ErrWatchError(.configuration, "Notifier '\(notifier.name)' in \(origin) is an Alertmanager, which takes alerts, not digests; send digests to a webhook, slack, command or log notifier.")
                        }
                    }
                    digest.notify = names
                default:
                    throw ErrWatchError(.configuration, "Unknown setting '\(key)' in \(origin); digests take: \(DigestConfiguration.keys.joined(separator: ", ")).")
                }
            }
            if fields["weekday"] != nil, digest.schedule.every != .weekly {
                throw ErrWatchError(.configuration, "Digest '\(name)' (\(path) line \(line)) names a weekday but is not weekly; add every: weekly.")
            }
            guard !digest.notify.isEmpty else {
                throw ErrWatchError(.configuration, "Digest '\(name)' (\(path) line \(line)) notifies no one; give notify: a list of notifiers.")
            }
            digests.append(digest)
        }
    }
}
