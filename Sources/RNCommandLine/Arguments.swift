import Foundation

// Shared command-line handling for the rn tools (DESIGN.md section 5): --help in the
// swift-argument-parser style, `error:` lines on stderr, exit 0 on success, 1 on failure and 64
// on bad usage.

/// Exit statuses shared by every tool.
public enum ExitCode: Int32 {
    case success = 0
    case failure = 1
    case usage = 64
}

/// One option of a command: `--name VALUE` (or `--name=VALUE`) when `valueName` is set, else a flag.
public struct OptionSpec {
    public var names: [String]
    public var valueName: String?
    public var help: String
    /// May be given several times (values accumulate).
    public var repeatable: Bool
    public init(_ names: [String], value valueName: String? = nil, help: String, repeatable: Bool = false) {
        self.names = names
        self.valueName = valueName
        self.help = help
        self.repeatable = repeatable
    }
    var key: String { names.first { $0.hasPrefix("--") } ?? names[0] }
}

/// What a command accepts, and its help text.
public struct CommandSpec {
    public var name: String
    public var overview: String
    /// Positional arguments: (name, help); the last may be variadic ("FILE...").
    public var arguments: [(String, String)]
    public var minimumPositionals: Int
    public var maximumPositionals: Int
    public var options: [OptionSpec]

    public init(name: String, overview: String, arguments: [(String, String)], minimumPositionals: Int,
                maximumPositionals: Int, options: [OptionSpec]) {
        self.name = name
        self.overview = overview
        self.arguments = arguments
        self.minimumPositionals = minimumPositionals
        self.maximumPositionals = maximumPositionals
        self.options = options + [OptionSpec(["-h", "--help"], help: "Show help information.")]
    }

    public var help: String {
        var usage = "USAGE: \(name)"
        for (argument, _) in arguments { usage += " <\(argument)>" }
        for option in options where option.key != "--help" {
            usage += option.valueName.map { " [\(option.key) <\($0)>]" } ?? " [\(option.key)]"
        }
        var lines = ["OVERVIEW: \(overview)", "", usage, ""]
        if !arguments.isEmpty {
            lines.append("ARGUMENTS:")
            for (argument, help) in arguments { lines.append(Self.row("<\(argument)>", help)) }
            lines.append("")
        }
        lines.append("OPTIONS:")
        for option in options {
            let names = option.names.joined(separator: ", ") + (option.valueName.map { " <\($0)>" } ?? "")
            lines.append(Self.row(names, option.help))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func row(_ left: String, _ right: String) -> String {
        let padded = "  " + left
        return padded.count < 26 ? padded + String(repeating: " ", count: 26 - padded.count) + right
            : padded + "\n" + String(repeating: " ", count: 26) + right
    }
}

/// Parsed arguments: positionals in order, option values by their long name.
public struct ParsedArguments {
    public var positionals: [String] = []
    var values: [String: [String]] = [:]

    public func flag(_ name: String) -> Bool { values[name] != nil }
    public func value(_ name: String) -> String? { values[name]?.last }
    public func values(_ name: String) -> [String] { values[name] ?? [] }

    /// An integer option within `range`, or `fallback` when absent; exits 64 when malformed.
    public func int(_ name: String, default fallback: Int, in range: ClosedRange<Int>, command: String) -> Int {
        guard let text = value(name) else { return fallback }
        guard let n = Int(text), range.contains(n) else {
            usageError("\(name) expects an integer in \(range.lowerBound)...\(range.upperBound), got '\(text)'",
                       command: command)
        }
        return n
    }
}

/// Usage problems found while parsing; `parse(_:spec:)` prints them and exits 64.
public struct UsageError: Error, Equatable {
    public var message: String
    public init(message: String) { self.message = message }
}

extension CommandSpec {
    /// Parses `arguments` (without the program name). Throws on bad usage; `help` is true when
    /// -h/--help was given.
    public func parseArguments(_ arguments: [String]) throws(UsageError) -> (ParsedArguments, help: Bool) {
        var parsed = ParsedArguments()
        var remaining = arguments[...]
        var onlyPositionals = false
        while let argument = remaining.popFirst() {
            if onlyPositionals || argument == "-" || !argument.hasPrefix("-") {
                parsed.positionals.append(argument)
                continue
            }
            if argument == "--" { onlyPositionals = true; continue }
            var name = argument, inlineValue: String? = nil
            if let eq = argument.firstIndex(of: "="), argument.hasPrefix("--") {
                name = String(argument[..<eq])
                inlineValue = String(argument[argument.index(after: eq)...])
            }
            guard let option = options.first(where: { $0.names.contains(name) }) else {
                throw UsageError(message: "unknown option '\(name)'")
            }
            if option.key == "--help" { return (parsed, true) }
            if option.valueName != nil {
                guard let value = inlineValue ?? remaining.popFirst() else {
                    throw UsageError(message: "missing value for '\(name)'")
                }
                if !option.repeatable, parsed.values[option.key] != nil {
                    throw UsageError(message: "'\(option.key)' given more than once")
                }
                parsed.values[option.key, default: []].append(value)
            } else {
                guard inlineValue == nil else { throw UsageError(message: "'\(name)' takes no value") }
                parsed.values[option.key] = []
            }
        }
        if parsed.positionals.count < minimumPositionals {
            let missing = arguments.isEmpty || minimumPositionals > parsed.positionals.count
            throw UsageError(message: missing ? "missing <\(self.arguments[parsed.positionals.count].0)>"
                             : "too few arguments")
        }
        if parsed.positionals.count > maximumPositionals {
            throw UsageError(message: "unexpected argument '\(parsed.positionals[maximumPositionals])'")
        }
        return (parsed, false)
    }

    /// Parses the process arguments; prints help and exits 0 for --help, prints the problem and
    /// exits 64 for bad usage.
    public func parse(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> ParsedArguments {
        do {
            let (parsed, help) = try parseArguments(arguments)
            if help {
                print(self.help, terminator: "")
                exit(ExitCode.success.rawValue)
            }
            return parsed
        } catch {
            usageError(error.message, command: name)
        }
    }
}

/// Prints `error: message` and a pointer to --help on stderr, exits 64.
public func usageError(_ message: String, command: String) -> Never {
    printError("error: \(message)\nsee '\(command) --help'")
    exit(ExitCode.usage.rawValue)
}

/// Prints `error: message` on stderr and exits 1.
public func fail(_ message: String) -> Never {
    printError("error: \(message)")
    exit(ExitCode.failure.rawValue)
}

/// Writes a line to stderr.
public func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
