/// The agent's answer to `POST /api/v1/events`: how many outcomes it took and how many it had
/// to drop (its writer's queue full). The agent writes it and the client library's
/// `AgentRecorder` reads it, through this one type.
public struct IngestReceipt: Codable, Sendable, Hashable {
    public var accepted: Int
    public var dropped: Int

    public init(accepted: Int, dropped: Int) {
        self.accepted = accepted
        self.dropped = dropped
    }
}
