// DEV ONLY — remove before finishing.
nonisolated(unsafe) public var devVariant = 0
nonisolated(unsafe) public var devTile = 256
