// rn-inspect: layers, shapes, MACs, weight bytes, memory plan and its lower bound of an .rnb model.
import RNCommandLine

let spec = CommandSpec(
    name: "rn-inspect",
    overview: "Show the layers, shapes, MACs, weights and memory plan of an .rnb model.",
    arguments: [("model.rnb", "The model to inspect.")], minimumPositionals: 1, maximumPositionals: 1,
    options: [OptionSpec(["--json"], help: "Print JSON on stdout instead of the table.")])
let arguments = spec.parse()
do {
    let loaded = try LoadedModel(path: arguments.positionals[0])
    let summary = ModelSummary(loaded.model)
    print(arguments.flag("--json") ? summary.json.text() : summary.text, terminator: arguments.flag("--json") ? "\n" : "")
} catch {
    fail(error.description)
}
