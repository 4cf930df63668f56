#include "commandline.h"

#include "downloadcommand.h"

#include "attentionflow.h"
#include "checkpoint.h"
#include "figurefile.h"
#include "figurekind.h"
#include "figures.h"
#include "comparison.h"
#include "figuresource.h"
#include "handout.h"
#include "attentionresult.h"
#include "tracejson.h"
#include "translationjson.h"
#include "workspace.h"
#include "atomicfile.h"
#include "runmemory.h"
#include "tokenizer.h"

#include <QCommandLineParser>
#include <QFileInfo>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTextStream>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <optional>

namespace studio {

namespace {

constexpr int kFailure = 1;
constexpr int kUsage = 2;

int fail(int code, const QString &message)
{
    QTextStream(stderr) << "attention-studio: error: " << message << '\n';
    return code;
}

Result<int> wholeNumber(const QCommandLineParser &parser, const QCommandLineOption &option)
{
    bool ok = false;
    const int value = parser.value(option).toInt(&ok);
    if (!ok)
        return Result<int>::failure(QStringLiteral("--%1 must be a whole number (got \"%2\")").arg(option.names().constFirst(), parser.value(option)));
    return {value, {}};
}

// Options shared by the subcommands that run the teaching model.
struct ModelOptions {
    QCommandLineOption text{QStringLiteral("text"), QStringLiteral("The sentence."), QStringLiteral("TEXT")};
    QCommandLineOption workspace{QStringLiteral("workspace"), QStringLiteral("Workspace file with sentence, settings and weights."), QStringLiteral("FILE")};
    QCommandLineOption mask{QStringLiteral("mask"), QStringLiteral("none or causal (keys, from older versions, means none)."), QStringLiteral("MODE")};
    QCommandLineOption maskedKeys{QStringLiteral("masked-keys"), QStringLiteral("Comma-separated key positions hidden from every query, with any --mask."), QStringLiteral("LIST")};
    QCommandLineOption temperature{QStringLiteral("temperature"), QStringLiteral("Softmax temperature τ > 0."), QStringLiteral("T")};
    QCommandLineOption noScale{QStringLiteral("no-scale"), QStringLiteral("Do not divide scores by √d_head.")};
    QCommandLineOption out{QStringLiteral("out"), QStringLiteral("Output file."), QStringLiteral("FILE")};
    QCommandLineOption dModel{QStringLiteral("d-model"), QStringLiteral("Embedding size of the teaching model (default 16); resets the weights to the defaults."), QStringLiteral("C")};
    QCommandLineOption dHead{QStringLiteral("d-head"), QStringLiteral("Size of each head (default 8); resets the weights to the defaults."), QStringLiteral("D")};
    QCommandLineOption heads{QStringLiteral("heads"), QStringLiteral("Number of heads (default 3); resets the weights to the defaults."), QStringLiteral("H")};
    QCommandLineOption noPositional{QStringLiteral("no-positional"), QStringLiteral("Leave out the positional encodings.")};

    void addTo(QCommandLineParser &parser) const
    {
        parser.addOptions({text, workspace, mask, maskedKeys, temperature, noScale, out, dModel, dHead, heads, noPositional});
    }

    // The workspace the options describe, or an error message.
    Result<Workspace> workspaceFrom(const QCommandLineParser &parser) const
    {
        using R = Result<Workspace>;
        Workspace result = defaultWorkspace();
        if (parser.isSet(workspace)) {
            Result<Workspace> loaded = loadWorkspace(parser.value(workspace));
            if (!loaded)
                return loaded;
            result = *loaded.value;
        }
        if (parser.isSet(text))
            result.text = parser.value(text);
        if (parser.isSet(dModel) || parser.isSet(dHead) || parser.isSet(heads)) {
            TeachingConfig config = result.config;
            for (const auto &[option, target] : {std::pair{&dModel, &config.dModel}, std::pair{&dHead, &config.dHead},
                                                 std::pair{&heads, &config.heads}}) {
                if (!parser.isSet(*option))
                    continue;
                const Result<int> value = wholeNumber(parser, *option);
                if (!value)
                    return R::failure(value.error);
                *target = *value.value;
            }
            if (const Status valid = validateConfig(config); !valid)
                return R::failure(valid.error);
            result.config = config;
            result.heads = defaultHeads(config);
        }
        if (parser.isSet(noPositional))
            result.config.positional = false;
        if (result.text.trimmed().isEmpty())
            return R::failure(QStringLiteral("the text is empty: give a sentence with --text"));
        if (parser.isSet(mask)) {
            const std::optional<MaskMode> parsed = maskModeFromName(parser.value(mask));
            if (!parsed)
                return R::failure(QStringLiteral("--mask must be none, causal or keys (got \"%1\")").arg(parser.value(mask)));
            // "keys" (hidden keys only) is "none" now that hidden keys combine with any mask.
            result.settings.mask = *parsed == MaskMode::Keys ? MaskMode::None : *parsed;
        }
        if (parser.isSet(maskedKeys)) {
            result.settings.maskedKeys.clear();
            for (const QString &item : parser.value(maskedKeys).split(QLatin1Char(','), Qt::SkipEmptyParts)) {
                bool ok = false;
                const int key = item.trimmed().toInt(&ok);
                if (!ok || key < 0)
                    return R::failure(QStringLiteral("--masked-keys takes token positions such as 0,3 (got \"%1\")").arg(item));
                result.settings.maskedKeys.append(key);
            }
        }
        if (parser.isSet(temperature)) {
            bool ok = false;
            const double tau = parser.value(temperature).toDouble(&ok);
            if (!ok || !(tau > 0.0) || !std::isfinite(tau))
                return R::failure(QStringLiteral("--temperature must be a number > 0 (got \"%1\")").arg(parser.value(temperature)));
            result.settings.temperature = tau;
        }
        if (parser.isSet(noScale))
            result.settings.scale = false;
        return {std::move(result), {}};
    }
};

// Options for loaded checkpoints.
struct CheckpointOptions {
    QCommandLineOption model{QStringLiteral("model"), QStringLiteral("A Hugging Face model folder (GPT-2, BERT, Llama, Mistral, Qwen2, or a Marian translation model) to run instead of the teaching model."), QStringLiteral("DIR")};
    QCommandLineOption textPair{QStringLiteral("text-pair"), QStringLiteral("BERT: the second sentence."), QStringLiteral("TEXT")};
    QCommandLineOption threads{QStringLiteral("threads"), QStringLiteral("Threads for the forward pass (default 2)."), QStringLiteral("N"), QStringLiteral("2")};

    void addTo(QCommandLineParser &parser) const { parser.addOptions({model, textPair, threads}); }
};

// The checkpoint --model names, for a command that runs it on --text: an empty text is a usage
// error, a folder that does not open a failure. Null, with *exitCode set, when it cannot be run.
std::shared_ptr<Checkpoint> checkpointForText(const QCommandLineParser &parser, const ModelOptions &model,
                                              const CheckpointOptions &options, int *exitCode)
{
    if (parser.value(model.text).trimmed().isEmpty()) {
        *exitCode = fail(kUsage, QStringLiteral("the text is empty: give a sentence with --text"));
        return nullptr;
    }
    Result<std::shared_ptr<Checkpoint>> opened = openCheckpoint(parser.value(options.model));
    if (!opened) {
        *exitCode = fail(kFailure, opened.error);
        return nullptr;
    }
    return *opened.value;
}

// Tokenizes for an open checkpoint and sets up its forward pass, keeping the stages of the heads
// asked for; refuses a run whose memory cannot fit. A text the model cannot take, or an option out
// of range, is a usage error.
struct CheckpointRun {
    std::shared_ptr<const Checkpoint> checkpoint;
    PreparedInput input;
    ForwardOptions forward;
    ModelTrace trace;
};

Result<CheckpointRun> prepareCheckpointRun(const QCommandLineParser &parser, const CheckpointOptions &options,
                                           std::shared_ptr<const Checkpoint> checkpoint, const QString &text,
                                           const std::vector<std::pair<int, int>> &stageHeads, bool allStages, RunKind kind)
{
    using R = Result<CheckpointRun>;
    CheckpointRun run;
    run.checkpoint = std::move(checkpoint);
    Result<PreparedInput> input = prepareInput(*run.checkpoint, text, parser.value(options.textPair));
    if (!input)
        return R::failure(input.error);
    run.input = std::move(*input.value);
    // --temperature on a loaded model: an experiment on every attention softmax, said as such.
    if (parser.isSet(QStringLiteral("temperature"))) {
        bool ok = false;
        const double tau = parser.value(QStringLiteral("temperature")).toDouble(&ok);
        if (!ok || !(tau > 0.0) || !std::isfinite(tau))
            return R::failure(QStringLiteral("--temperature must be a number > 0 (got \"%1\")").arg(parser.value(QStringLiteral("temperature"))));
        run.input.forward.attentionTemperature = tau;
        if (tau != 1.0)
            QTextStream(stderr) << "attention-studio: note: every attention softmax at τ = " << tau
                                << " (an experiment: not the model as trained)\n";
    }
    if (run.input.truncatedFrom > 0)
        QTextStream(stderr) << "attention-studio: note: " << run.input.truncatedFrom << " tokens truncated to the model's "
                            << run.checkpoint->config.maxPositions << " positions\n";
    const ModelConfig &config = run.checkpoint->config;
    ForwardOptions &forward = run.forward;
    bool ok = false;
    forward.threads = parser.value(options.threads).toInt(&ok);
    if (!ok || forward.threads < 1 || forward.threads > 64)
        return R::failure(QStringLiteral("--threads must be between 1 and 64"));
    for (const auto &[layer, head] : stageHeads) {
        if (layer < 0 || layer >= config.layers || head < 0 || head >= config.heads)
            return R::failure(QStringLiteral("layer %1 head %2 does not exist: %3 has layers 0..%4 and heads 0..%5")
                                  .arg(layer).arg(head).arg(run.checkpoint->name).arg(config.layers - 1).arg(config.heads - 1));
    }
    forward.stageHeads = stageHeads;
    forward.keepLayerInputs = kind == RunKind::Window;
    if (allStages) {
        forward.stageHeads.clear();
        for (int l = 0; l < config.layers; ++l)
            for (int h = 0; h < config.heads; ++h)
                forward.stageHeads.push_back({l, h});
    }
    std::vector<int> stagesPerLayer(size_t(config.layers), 0);
    for (const auto &[layer, head] : forward.stageHeads)
        ++stagesPerLayer[size_t(layer)];
    const int stageHeadsPerLayer = *std::max_element(stagesPerLayer.begin(), stagesPerLayer.end());
    const double needed = checkpointRunBytes(config, int(run.input.forward.ids.size()), kind, stageHeadsPerLayer);
    if (const Status fits = checkRunFitsNow(needed); !fits)
        return R::failure(fits.error);
    return {std::move(run), {}};
}

// --layer and --head select heads: both given, one head; one given, all of that layer or head.
Result<std::vector<std::pair<int, int>>> selectedHeads(const QCommandLineParser &parser, const QCommandLineOption &layer,
                                                      const QCommandLineOption &head, int layers, int heads)
{
    using R = Result<std::vector<std::pair<int, int>>>;
    bool ok = true;
    const int l = parser.isSet(layer) ? parser.value(layer).toInt(&ok) : -1;
    if (!ok)
        return R::failure(QStringLiteral("--layer must be a whole number"));
    const int h = parser.isSet(head) ? parser.value(head).toInt(&ok) : -1;
    if (!ok)
        return R::failure(QStringLiteral("--head must be a whole number"));
    if ((parser.isSet(layer) && l < 0) || (parser.isSet(head) && h < 0))
        return R::failure(QStringLiteral("--layer and --head count from 0 (got %1)").arg(parser.isSet(layer) && l < 0 ? l : h));
    std::vector<std::pair<int, int>> selected;
    for (int li = 0; li < layers; ++li)
        for (int hi = 0; hi < heads; ++hi)
            if ((l < 0 || l == li) && (h < 0 || h == hi))
                selected.push_back({li, hi});
    if (selected.empty() || l >= layers || h >= heads)
        return R::failure(QStringLiteral("there is no layer %1 head %2 (layers 0..%3, heads 0..%4)")
                              .arg(l).arg(h).arg(layers - 1).arg(heads - 1));
    return {std::move(selected), {}};
}

// Parses; on --help prints help and returns 0 through *exitCode.
bool parse(QCommandLineParser &parser, const QStringList &arguments, int *exitCode)
{
    parser.addHelpOption();
    if (!parser.parse(arguments)) {
        *exitCode = fail(kUsage, parser.errorText());
        return false;
    }
    if (parser.isSet(QStringLiteral("help"))) {
        QTextStream(stdout) << parser.helpText();
        *exitCode = 0;
        return false;
    }
    if (parser.positionalArguments().size() > 1) {
        *exitCode = fail(kUsage, QStringLiteral("unexpected argument \"%1\"").arg(parser.positionalArguments().at(1)));
        return false;
    }
    return true;
}

Status writeText(const QString &path, const QByteArray &bytes)
{
    if (path.isEmpty() || path == QStringLiteral("-")) {
        std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stdout);
        std::fflush(stdout);
        return Status::success();
    }
    return writeFileAtomically(path, bytes);
}

// Streams a JSON document to standard output or to a file, which is replaced only by a whole
// document: a failed run or a full disk leaves the old file as it was.
Status writeJson(const QString &path, const std::function<Status(JsonStream &)> &write)
{
    const bool toStdout = path.isEmpty() || path == QStringLiteral("-");
    std::optional<AtomicFile> file;
    if (!toStdout) {
        file.emplace(path);
        if (const Status opened = file->open(); !opened)
            return opened;
    }
    const auto sink = [&](const QByteArray &chunk) {
        if (toStdout)
            return std::fwrite(chunk.constData(), 1, size_t(chunk.size()), stdout) == size_t(chunk.size());
        return file->write(chunk);
    };
    JsonStream out(sink);
    if (const Status written = write(out); !written)
        return written;
    const bool complete = out.finish() && sink(QByteArrayLiteral("\n"));
    if (toStdout) {
        if (!complete || std::fflush(stdout) != 0)
            return Status::failure(QStringLiteral("cannot write to standard output"));
        return Status::success();
    }
    return file->commit();
}

// trace on a translation model: the source through the encoder, and the target (teacher forcing)
// or the greedy translation through the decoder.
struct TranslationTraceRequest {
    QString model, source, target, out;
    std::optional<int> generate;
    bool stages = false;
    double temperature = 1.0;
    int threads = 2;
};

int runTranslationTrace(const TranslationTraceRequest &request)
{
    Result<std::shared_ptr<TranslationCheckpoint>> opened = openTranslationCheckpoint(request.model);
    if (!opened)
        return fail(kFailure, opened.error);
    const TranslationCheckpoint &checkpoint = **opened.value;
    TranslationTraceOptions options;
    options.stages = request.stages;
    options.temperature = request.temperature;
    Result<PreparedTranslation> prepared = prepareTranslation(checkpoint, request.source, request.target);
    if (request.generate) {
        const Result<GreedyTranslation> greedy = translateGreedy(checkpoint, request.source, *request.generate, true);
        if (!greedy)
            return fail(kFailure, greedy.error);
        options.generated = greedy.value->ids;
        options.stopReason = greedy.value->stopReason;
        prepared = prepareTranslationIds(checkpoint, request.source, greedy.value->ids);
    }
    if (!prepared)
        return fail(kUsage, prepared.error);
    if (prepared.value->truncatedFrom > 0)
        QTextStream(stderr) << "attention-studio: note: " << prepared.value->truncatedFrom << " tokens cut to the model's "
                            << checkpoint.config.maxPositions << " positions\n";
    prepared.value->input.attentionTemperature = request.temperature;
    TranslationTrace trace;
    if (const Status ran = guardAllocation([&] { trace = checkpoint.model->forward(prepared.value->input, request.threads); }); !ran)
        return fail(kFailure, ran.error);
    const Status written = writeJson(request.out, [&](JsonStream &out) {
        writeTranslationTrace(out, checkpoint, *prepared.value, trace, options);
        return Status::success();
    });
    if (!written)
        return fail(kFailure, written.error);
    return 0;
}

int runTrace(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Print every stage of self-attention for a sentence as JSON."));
    parser.addPositionalArgument(QStringLiteral("trace"), QStringLiteral("The subcommand."));
    ModelOptions model;
    model.addTo(parser);
    const QCommandLineOption stages(QStringLiteral("stages"), QStringLiteral("Include w_q, w_k, w_v, q, k, v, scores, scaled, masked, output."));
    parser.addOption(stages);
    CheckpointOptions checkpointOptions;
    checkpointOptions.addTo(parser);
    const QCommandLineOption aggregate(QStringLiteral("aggregate"),
                                       QStringLiteral("rollout, flow or value (repeat or separate with commas): add \"rollout\" and \"flow\" "
                                                      "[layer][T×T] (Abnar & Zuidema 2020), \"value_weighted\" [layer][head][T×T] "
                                                      "(Kobayashi et al. 2020)."),
                                       QStringLiteral("KIND"));
    parser.addOption(aggregate);
    const QCommandLineOption predict(QStringLiteral("predict"), QStringLiteral("With --model: add \"next_tokens\", the K most likely tokens after the last one."), QStringLiteral("K"));
    const QCommandLineOption excludeSpecial(QStringLiteral("exclude-special"),
                                            QStringLiteral("With --model: leave special tokens ([CLS], [SEP], <s>, </s> …) out of \"weights\" and renormalise each row (a display transform)."));
    parser.addOptions({predict, excludeSpecial});
    const QCommandLineOption layer(QStringLiteral("layer"), QStringLiteral("With --model and --stages: the layer whose stages to include (0-based)."), QStringLiteral("L"));
    const QCommandLineOption head(QStringLiteral("head"), QStringLiteral("With --model and --stages: the head whose stages to include (0-based)."), QStringLiteral("H"));
    parser.addOptions({layer, head});
    const QCommandLineOption target(QStringLiteral("target"), QStringLiteral("Translation models: the target sentence the decoder reads (teacher forcing)."), QStringLiteral("TEXT"));
    const QCommandLineOption generate(QStringLiteral("generate"), QStringLiteral("Translation models: translate greedily, at most N tokens, and trace that."), QStringLiteral("N"));
    parser.addOptions({target, generate});
    const QCommandLineOption precisionOption(QStringLiteral("precision"),
                                             QStringLiteral("With --model: fp32 (default, exact to float rounding) or bf16 (the linear layers in bfloat16 "
                                                            "where the CPU has AVX512_BF16 or AMX; adds the largest deviation from fp32)."),
                                             QStringLiteral("MODE"), QStringLiteral("fp32"));
    parser.addOption(precisionOption);
    int code = 0;
    if (!parse(parser, arguments, &code))
        return code;
    const std::optional<Precision> precision = precisionFromName(parser.value(precisionOption));
    if (!precision)
        return fail(kUsage, QStringLiteral("--precision is fp32 or bf16 (got \"%1\")").arg(parser.value(precisionOption)));
    if (*precision == Precision::Bf16) {
        if (!parser.isSet(checkpointOptions.model))
            return fail(kUsage, QStringLiteral("--precision bf16 needs --model: the teaching model computes in float"));
        if (!bf16Supported())
            return fail(kFailure, bf16Unavailable());
    }

    const bool translation = parser.isSet(checkpointOptions.model) && isTranslationFolder(parser.value(checkpointOptions.model));
    if (!translation && (parser.isSet(target) || parser.isSet(generate)))
        return fail(kUsage, QStringLiteral("--target and --generate are for translation (encoder–decoder) models given with --model"));
    if (translation) {
        if (parser.isSet(target) == parser.isSet(generate))
            return fail(kUsage, QStringLiteral("a translation model takes --target TEXT or --generate N (one of them)"));
        if (*precision == Precision::Bf16)
            return fail(kUsage, QStringLiteral("--precision bf16 is not available for translation models: they run in fp32"));
        for (const QCommandLineOption *unused : std::initializer_list<const QCommandLineOption *>{&aggregate, &predict, &excludeSpecial, &layer, &head, &checkpointOptions.textPair})
            if (parser.isSet(*unused))
                return fail(kUsage, QStringLiteral("--%1 is not available for translation models").arg(unused->names().constFirst()));
        TranslationTraceRequest request;
        request.model = parser.value(checkpointOptions.model);
        request.source = parser.value(model.text);
        request.target = parser.value(target);
        request.out = parser.value(model.out);
        request.stages = parser.isSet(stages);
        if (parser.isSet(generate)) {
            bool ok = false;
            const int steps = parser.value(generate).toInt(&ok);
            if (!ok || steps < 1 || steps > 4096)
                return fail(kUsage, QStringLiteral("--generate takes a count from 1 to 4096 (got \"%1\")").arg(parser.value(generate)));
            request.generate = steps;
        }
        if (parser.isSet(model.temperature)) {
            bool ok = false;
            request.temperature = parser.value(model.temperature).toDouble(&ok);
            if (!ok || !(request.temperature > 0) || !std::isfinite(request.temperature))
                return fail(kUsage, QStringLiteral("--temperature must be a number > 0 (got \"%1\")").arg(parser.value(model.temperature)));
        }
        bool ok = false;
        request.threads = parser.value(checkpointOptions.threads).toInt(&ok);
        if (!ok || request.threads < 1 || request.threads > 64)
            return fail(kUsage, QStringLiteral("--threads must be between 1 and 64"));
        return runTranslationTrace(request);
    }

    bool rollout = false, flow = false, valueWeighted = false;
    for (const QString &values : parser.values(aggregate)) {
        for (const QString &kind : values.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            const QString k = kind.trimmed();
            if (k == QStringLiteral("rollout"))
                rollout = true;
            else if (k == QStringLiteral("flow"))
                flow = true;
            else if (k == QStringLiteral("value"))
                valueWeighted = true;
            else
                return fail(kUsage, QStringLiteral("--aggregate takes rollout, flow or value (got \"%1\")").arg(k));
        }
    }
    int predictCount = 0;
    if (parser.isSet(predict)) {
        bool ok = false;
        predictCount = parser.value(predict).toInt(&ok);
        if (!ok || predictCount < 1 || predictCount > 1000)
            return fail(kUsage, QStringLiteral("--predict takes a count from 1 to 1000 (got \"%1\")").arg(parser.value(predict)));
    }
    if (!parser.isSet(checkpointOptions.model)) {
        if (predictCount > 0)
            return fail(kUsage, QStringLiteral("--predict needs --model: the teaching model has no vocabulary to predict"));
        if (parser.isSet(excludeSpecial))
            return fail(kUsage, QStringLiteral("--exclude-special needs --model: the teaching model has no special tokens"));
    }
    if (parser.isSet(checkpointOptions.model)) {
        // Opened once; the selection is checked against it.
        const std::shared_ptr<const Checkpoint> checkpoint = checkpointForText(parser, model, checkpointOptions, &code);
        if (!checkpoint)
            return code;
        if ((parser.isSet(layer) || parser.isSet(head)) && !parser.isSet(stages))
            return fail(kUsage, QStringLiteral("--layer and --head choose whose stages to include: give --stages too"));
        std::vector<std::pair<int, int>> heads;
        if (parser.isSet(stages) && (parser.isSet(layer) || parser.isSet(head))) {
            Result<std::vector<std::pair<int, int>>> selected = selectedHeads(parser, layer, head, checkpoint->config.layers, checkpoint->config.heads);
            if (!selected)
                return fail(kUsage, selected.error);
            heads = std::move(*selected.value);
        }
        const bool allStages = parser.isSet(stages) && heads.empty();
        Result<CheckpointRun> run = prepareCheckpointRun(parser, checkpointOptions, checkpoint, parser.value(model.text), heads, allStages, RunKind::Trace);
        if (!run)
            return fail(kUsage, run.error);
        // Each layer is written as soon as it is done and then freed: the run holds one layer's maps.
        CheckpointRun &r = *run.value;
        if (predictCount > 0 && !r.checkpoint->model->canPredict())
            return fail(kUsage, QStringLiteral("--predict: %1").arg(r.checkpoint->model->predictionUnavailableReason()));
        r.forward.keepFinalHidden = predictCount > 0;
        r.forward.keepValueNorms = valueWeighted;
        r.forward.precision = *precision;
        // bf16: the fp32 run's attention weights first, each layer compared and freed as the bf16
        // run writes it.
        ModelTrace exact;
        if (*precision == Precision::Bf16) {
            const double maps = double(r.input.forward.ids.size()) * double(r.input.forward.ids.size()) * 4.0
                                * r.checkpoint->config.layers * r.checkpoint->config.heads;
            if (const Status fits = checkRunFitsNow(maps + double(r.checkpoint->model->bf16CopyBytesToMake())); !fits)
                return fail(kFailure, fits.error);
            ForwardOptions fp32;
            fp32.threads = r.forward.threads;
            if (const Status ran = guardAllocation([&] { exact = r.checkpoint->model->forward(r.input.forward, fp32); }); !ran)
                return fail(kFailure, ran.error);
        }
        double deviation = 0;
        const bool exclude = parser.isSet(excludeSpecial);
        const Status written = writeJson(parser.value(model.out), [&](JsonStream &out) {
            ModelTraceWriter writer(out, *r.checkpoint, r.input);
            writer.setRollout(rollout);
            writer.setFlow(flow);
            writer.setValueWeighted(valueWeighted);
            writer.setExcludeSpecial(exclude);
            writer.setPredict(predictCount);
            writer.begin();
            r.forward.layerDone = [&writer, &out, &exact, &deviation](int done, ModelTrace &trace) {
                if (size_t(done) < exact.attentions.size()) {
                    deviation = std::max(deviation, largestAttentionDeviation({trace.attentions[size_t(done)]}, {exact.attentions[size_t(done)]}));
                    exact.attentions[size_t(done)].clear();
                }
                if (out.ok())
                    writer.writeLayer(done, trace);
            };
            if (const Status ran = guardAllocation([&r] { r.trace = r.checkpoint->model->forward(r.input.forward, r.forward); }); !ran)
                return ran;
            r.trace.maxDeviation = deviation;
            writer.end(r.trace);
            return Status::success();
        });
        if (!written)
            return fail(kFailure, written.error);
        return 0;
    }

    const Result<Workspace> workspace = model.workspaceFrom(parser);
    if (!workspace)
        return fail(kUsage, workspace.error);
    const Workspace &w = *workspace.value;
    const int tokens = int(tokenizeText(w.text, kMaxTeachingTokens).size());
    if (tokens == 0)
        return fail(kUsage, QStringLiteral("the text has no tokens"));
    if (const Status fits = checkRunFitsNow(teachingRunBytes(w.config, tokens, RunKind::Trace)); !fits)
        return fail(kFailure, fits.error);
    TeachingTrace trace;
    if (const Status ran = guardAllocation([&] { trace = traceTeachingModel(w.text, w.config, w.heads, w.settings); }); !ran)
        return fail(kFailure, ran.error);
    const Status written = writeJson(parser.value(model.out), [&](JsonStream &out) {
        writeTeachingTrace(out, trace, w.config, w.heads, w.settings, parser.isSet(stages), {rollout, flow, valueWeighted});
        return Status::success();
    });
    if (!written)
        return fail(kFailure, written.error);
    return 0;
}

// The options of `export`, beside the model's.
struct ExportFlags {
    QCommandLineOption view{QStringLiteral("view"), QStringLiteral("%1.").arg(figureKindNames().join(QStringLiteral(", "))), QStringLiteral("VIEW"), figureKindName(FigureKind::Heatmap)};
    QCommandLineOption head{QStringLiteral("head"), QStringLiteral("Head index (0-based)."), QStringLiteral("N"), QStringLiteral("0")};
    QCommandLineOption layer{QStringLiteral("layer"), QStringLiteral("Layer index (0-based)."), QStringLiteral("L"), QStringLiteral("0")};
    QCommandLineOption format{QStringLiteral("format"), QStringLiteral("png, svg or pdf (default: from the --out suffix)."), QStringLiteral("FORMAT")};
    QCommandLineOption dpi{QStringLiteral("dpi"), QStringLiteral("PNG resolution (default 192)."), QStringLiteral("DPI"), QStringLiteral("192")};
    QCommandLineOption stage{QStringLiteral("stage"), QStringLiteral("heatmap: scores, scaled, masked or weights (default); steps: embeddings, projections, scores, scaled, masked, weights or output."), QStringLiteral("STAGE"), QStringLiteral("weights")};
    QCommandLineOption projection{QStringLiteral("projection"), QStringLiteral("steps at the projections stage: q, k or v."), QStringLiteral("P"), QStringLiteral("q")};
    QCommandLineOption query{QStringLiteral("query"), QStringLiteral("The selected query token (0-based), outlined in the figure."), QStringLiteral("Q")};
    // Not "heads": that is the teaching model's number of heads, for every command.
    QCommandLineOption heads{QStringLiteral("show-heads"), QStringLiteral("arcs: comma-separated heads to show (default: all)."), QStringLiteral("LIST")};
    QCommandLineOption threshold{QStringLiteral("threshold"), QStringLiteral("arcs: hide lines below this weight (default 0.02)."), QStringLiteral("W"), QStringLiteral("0.02")};
    QCommandLineOption topK{QStringLiteral("top-k"), QStringLiteral("arcs: keep the k strongest lines per query (default: all)."), QStringLiteral("K"), QStringLiteral("0")};
    QCommandLineOption colorMap{QStringLiteral("colormap"), QStringLiteral("viridis, cividis, grayscale or diverging."), QStringLiteral("NAME")};
    QCommandLineOption numbers{QStringLiteral("numbers"), QStringLiteral("Write the value in each cell.")};
    QCommandLineOption compareWith{QStringLiteral("compare-with"),
                                   QStringLiteral("comparison (and grid): the second sentence, run on the same model and aligned with the first."),
                                   QStringLiteral("TEXT")};
    QCommandLineOption excludeSpecial{QStringLiteral("exclude-special"),
                                      QStringLiteral("heatmap of weights or value-weighted: grey out special tokens and renormalise each row (a display transform).")};

    void addTo(QCommandLineParser &parser) const
    {
        parser.addOptions({view, head, layer, format, dpi, stage, projection, query, heads, threshold, topK, colorMap, numbers, excludeSpecial, compareWith});
    }
};

// Everything `export` was asked for, checked, before any model runs.
struct ExportOptions {
    FigureRequest request;
    QString out;
    FigureFormat format = FigureFormat::Png;
    int dpi = 192;
    int layer = 0;
    int head = 0;
    std::optional<int> query;
};


Result<ExportOptions> parseExportOptions(const QCommandLineParser &parser, const ExportFlags &flags, const QString &out)
{
    using R = Result<ExportOptions>;
    ExportOptions options;
    FigureRequest &request = options.request;
    const std::optional<FigureKind> kind = figureKindFromName(parser.value(flags.view));
    if (!kind)
        return R::failure(QStringLiteral("--view must be %1 (got \"%2\")").arg(figureKindNames().join(QStringLiteral(", ")), parser.value(flags.view)));
    request.kind = *kind;
    options.out = out;
    if (out.isEmpty())
        return R::failure(QStringLiteral("--out FILE is required"));
    const QString formatName = parser.isSet(flags.format) ? parser.value(flags.format) : QFileInfo(out).suffix();
    const std::optional<FigureFormat> format = figureFormatFromName(formatName);
    if (!format)
        return R::failure(QStringLiteral("--format must be png, svg or pdf (got \"%1\")").arg(formatName));
    options.format = *format;
    request.vectorCells = options.format != FigureFormat::Png;
    for (auto [option, target] : {std::pair{&flags.dpi, &options.dpi}, std::pair{&flags.layer, &options.layer}, std::pair{&flags.head, &options.head}}) {
        const Result<int> value = wholeNumber(parser, *option);
        if (!value)
            return R::failure(value.error);
        *target = *value.value;
    }
    if (request.kind == FigureKind::Steps) {
        const std::optional<Stage> stage = stageFromName(parser.value(flags.stage));
        if (!stage) {
            QStringList names;
            for (Stage s : kStages)
                names.append(stageName(s));
            return R::failure(QStringLiteral("--stage must be one of %1 (got \"%2\")").arg(names.join(QStringLiteral(", ")), parser.value(flags.stage)));
        }
        request.stage = *stage;
    } else if (const std::optional<HeatmapStage> stage = heatmapStageFromName(parser.value(flags.stage))) {
        request.heatmapStage = *stage;
    } else {
    {
        QStringList names;
        for (HeatmapStage s : kHeatmapStages)
            names.append(heatmapStageName(s));
        return R::failure(QStringLiteral("--stage must be one of %1 (got \"%2\")").arg(names.join(QStringLiteral(", ")), parser.value(flags.stage)));
    }
    }
    const std::optional<Projection> projection = projectionFromName(parser.value(flags.projection));
    if (!projection)
        return R::failure(QStringLiteral("--projection must be q, k or v"));
    request.projection = *projection;
    if (parser.isSet(flags.colorMap)) {
        const std::optional<ColorMapKind> colors = colorMapFromName(parser.value(flags.colorMap));
        if (!colors)
            return R::failure(QStringLiteral("--colormap must be viridis, cividis, grayscale or diverging (got \"%1\")").arg(parser.value(flags.colorMap)));
        request.preferredColors = *colors;
    }
    bool ok = false;
    request.pruning.threshold = parser.value(flags.threshold).toFloat(&ok);
    if (!ok || !(request.pruning.threshold >= 0 && request.pruning.threshold <= 1)) // NaN is neither
        return R::failure(QStringLiteral("--threshold must be between 0 and 1"));
    request.pruning.topK = parser.value(flags.topK).toInt(&ok);
    if (!ok || request.pruning.topK < 0)
        return R::failure(QStringLiteral("--top-k must be a whole number ≥ 0"));
    if (request.kind == FigureKind::Arcs && parser.isSet(flags.heads)) {
        for (const QString &item : parser.value(flags.heads).split(QLatin1Char(','), Qt::SkipEmptyParts)) {
            const int h = item.trimmed().toInt(&ok);
            if (!ok || h < 0)
                return R::failure(QStringLiteral("--show-heads takes head indices such as 0,2 (got \"%1\")").arg(item));
            request.heads.append(h);
        }
    }
    if (parser.isSet(flags.query)) {
        const Result<int> query = wholeNumber(parser, flags.query);
        if (!query)
            return R::failure(query.error);
        options.query = *query.value;
    }
    request.numbers = parser.isSet(flags.numbers);
    request.extras.leaveOutSpecial = parser.isSet(flags.excludeSpecial);
    return {std::move(options), {}};
}

Result<FigureSource> checkpointSource(const QCommandLineParser &parser, const CheckpointOptions &checkpointOptions,
                                      std::shared_ptr<const Checkpoint> checkpoint, const QString &text, int layer, int head)
{
    using R = Result<FigureSource>;
    const ModelConfig &config = checkpoint->config;
    if (layer < 0 || layer >= config.layers || head < 0 || head >= config.heads)
        return R::failure(QStringLiteral("there is no layer %1 head %2 (layers 0..%3, heads 0..%4)")
                              .arg(layer).arg(head).arg(config.layers - 1).arg(config.heads - 1));
    Result<CheckpointRun> run = prepareCheckpointRun(parser, checkpointOptions, std::move(checkpoint), text, {}, false, RunKind::Window);
    if (!run)
        return R::failure(run.error);
    CheckpointRun &r = *run.value;
    r.forward.keepValueNorms = true; // value-weighted heatmaps
    r.forward.keepFinalHidden = r.checkpoint->model->canPredict(); // the prediction stage
    if (const Status ran = guardAllocation([&r] { r.trace = r.checkpoint->model->forward(r.input.forward, r.forward); }); !ran)
        return R::failure(ran.error);
    FigureSource source;
    const Checkpoint &opened = *run.value->checkpoint;
    source.result = checkpointResult(opened, run.value->input, std::move(run.value->trace));
    source.details = checkpointDetails(opened, source.result, run.value->input.forward, layer, head);
    addBlockDetails(opened, source.result, run.value->input.forward, source.details);
    source.context.model = checkpointDescription(opened);
    source.context.sentence = text;
    source.context.headName = source.details.name;
    return {std::move(source), {}};
}

Result<FigureSource> teachingSource(const Workspace &w, int layer, int head)
{
    if (layer != 0)
        return Result<FigureSource>::failure(QStringLiteral("--layer must be 0: the teaching model has one layer (got %1)").arg(layer));
    if (head < 0 || head >= int(w.heads.size()))
        return Result<FigureSource>::failure(QStringLiteral("--head must be between 0 and %1 (got %2)").arg(w.heads.size() - 1).arg(head));
    return teachingFigureSource(w, head);
}

int runExport(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Render a view to PNG, SVG or PDF."));
    parser.addPositionalArgument(QStringLiteral("export"), QStringLiteral("The subcommand."));
    ModelOptions model;
    model.addTo(parser);
    CheckpointOptions checkpointOptions;
    checkpointOptions.addTo(parser);
    const ExportFlags flags;
    flags.addTo(parser);
    const QCommandLineOption target(QStringLiteral("target"), QStringLiteral("Translation models: the target sentence the decoder reads."), QStringLiteral("TEXT"));
    const QCommandLineOption attention(QStringLiteral("attention"), QStringLiteral("Translation models: encoder, decoder or cross (default)."), QStringLiteral("KIND"),
                                       QStringLiteral("cross"));
    parser.addOptions({target, attention});
    int code = 0;
    if (!parse(parser, arguments, &code))
        return code;
    const bool translation = parser.isSet(checkpointOptions.model) && isTranslationFolder(parser.value(checkpointOptions.model));
    if (!translation && (parser.isSet(target) || parser.isSet(attention)))
        return fail(kUsage, QStringLiteral("--target and --attention are for translation (encoder–decoder) models given with --model"));
    const std::optional<AttentionKind> kind = attentionKindFromName(parser.value(attention));
    if (!kind)
        return fail(kUsage, QStringLiteral("--attention takes encoder, decoder or cross (got \"%1\")").arg(parser.value(attention)));

    // Parse: every option is checked before a model runs.
    Result<ExportOptions> parsed = parseExportOptions(parser, flags, parser.value(model.out));
    if (!parsed)
        return fail(kUsage, parsed.error);
    ExportOptions &options = *parsed.value;

    const QString textB = parser.value(flags.compareWith);
    if (options.request.kind == FigureKind::Comparison && textB.trimmed().isEmpty())
        return fail(kUsage, QStringLiteral("--view comparison needs the second sentence: --compare-with TEXT"));

    // Compute: the result and the selected head, from either kind of model (and the second
    // sentence's result, to compare with).
    Result<FigureSource> source = Result<FigureSource>::failure({});
    Result<FigureSource> sourceB = Result<FigureSource>::failure({});
    if (translation) {
        if (!textB.isEmpty())
            return fail(kUsage, QStringLiteral("--compare-with is for single-stack models"));
        if (parser.value(model.text).trimmed().isEmpty())
            return fail(kUsage, QStringLiteral("the source is empty: give a sentence with --text"));
        Result<std::shared_ptr<TranslationCheckpoint>> opened = openTranslationCheckpoint(parser.value(checkpointOptions.model));
        if (!opened)
            return fail(kFailure, opened.error);
        source = translationFigureSource(*opened.value, parser.value(model.text), parser.value(target), *kind, options.layer, options.head);
    } else if (parser.isSet(checkpointOptions.model)) {
        const std::shared_ptr<Checkpoint> checkpoint = checkpointForText(parser, model, checkpointOptions, &code);
        if (!checkpoint)
            return code;
        source = checkpointSource(parser, checkpointOptions, checkpoint, parser.value(model.text), options.layer, options.head);
        if (!textB.isEmpty())
            sourceB = checkpointSource(parser, checkpointOptions, checkpoint, textB, options.layer, options.head);
    } else {
        const Result<Workspace> workspace = model.workspaceFrom(parser);
        if (!workspace)
            return fail(kUsage, workspace.error);
        source = teachingSource(*workspace.value, options.layer, options.head);
        if (!textB.isEmpty()) {
            Workspace second = *workspace.value;
            second.text = textB;
            sourceB = teachingSource(second, options.layer, options.head);
        }
    }
    if (!source)
        return fail(kUsage, source.error);
    if (!textB.isEmpty()) {
        if (!sourceB)
            return fail(kUsage, QStringLiteral("--compare-with: %1").arg(sourceB.error));
        options.request.comparison = compareResults(std::make_shared<const AttentionResult>(source.value->result),
                                                    std::make_shared<const AttentionResult>(sourceB.value->result), textB);
        options.request.extras.comparison = options.request.comparison; // heatmap --stage difference
    }
    FigureSource &from = *source.value;
    from.context.layer = options.layer;
    from.context.head = options.head;
    if (options.query) {
        if (*options.query < 0 || *options.query >= from.result.tokenCount())
            return fail(kUsage, QStringLiteral("--query must be a token position between 0 and %1").arg(from.result.tokenCount() - 1));
        options.request.selectedQuery = *options.query;
    }
    for (int h : options.request.heads)
        if (h >= from.result.heads)
            return fail(kUsage, QStringLiteral("--heads takes head indices between 0 and %1 (got \"%2\")").arg(from.result.heads - 1).arg(h));

    // Analyses that need more than the result: flow (any size here; it may take a while).
    if (options.request.kind == FigureKind::Heatmap && options.request.heatmapStage == HeatmapStage::Flow)
        options.request.extras.flow = std::make_shared<const std::vector<Matrix>>(attentionFlow(*from.result.maps).value_or(std::vector<Matrix>()));
    if (options.request.kind == FigureKind::Heatmap)
        if (const QString reason = heatmapUnavailableReason(from.result, options.request.heatmapStage, options.request.extras); !reason.isEmpty())
            return fail(kUsage, reason);

    // Build and write.
    const BuiltFigure figure = buildFigure(from.result, from.details, from.context, options.request, figureFont());
    if (const Status written = exportFigure(figure.paint, figure.size, options.format, options.out, options.dpi,
                                            figureKindName(options.request.kind));
        !written)
        return fail(kFailure, written.error);
    return 0;
}

int runHandout(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Write a handout as one vector PDF: a page per scene of the workspace (when it has scenes and\n"
        "neither --text nor --model is given), else a page per stage of the selected head, each with\n"
        "the figure, the stage's formula and the worked arithmetic for the selected query."));
    parser.addPositionalArgument(QStringLiteral("handout"), QStringLiteral("The subcommand."));
    ModelOptions model;
    model.addTo(parser);
    CheckpointOptions checkpointOptions;
    checkpointOptions.addTo(parser);
    const QCommandLineOption layer(QStringLiteral("layer"), QStringLiteral("Layer index (0-based)."), QStringLiteral("L"), QStringLiteral("0"));
    const QCommandLineOption head(QStringLiteral("head"), QStringLiteral("Head index (0-based)."), QStringLiteral("N"), QStringLiteral("0"));
    const QCommandLineOption query(QStringLiteral("query"), QStringLiteral("The query whose arithmetic is written out (0-based; default 0)."), QStringLiteral("Q"), QStringLiteral("0"));
    parser.addOptions({layer, head, query});
    int code = 0;
    if (!parse(parser, arguments, &code))
        return code;
    if (!parser.isSet(model.out))
        return fail(kUsage, QStringLiteral("--out FILE.pdf is required"));
    const QString out = parser.value(model.out);
    if (!out.endsWith(QStringLiteral(".pdf"), Qt::CaseInsensitive))
        return fail(kUsage, QStringLiteral("a handout is a PDF: --out must end in .pdf (got \"%1\")").arg(out));
    int numbers[3] = {};
    for (const auto &[option, target] : {std::pair{&layer, &numbers[0]}, std::pair{&head, &numbers[1]}, std::pair{&query, &numbers[2]}}) {
        const Result<int> value = wholeNumber(parser, *option);
        if (!value)
            return fail(kUsage, value.error);
        *target = *value.value;
    }
    const auto [layerIndex, headIndex, queryIndex] = numbers;

    Result<std::vector<HandoutPage>> pages = Result<std::vector<HandoutPage>>::failure({});
    QString title;
    // A page per stage of one head of either model, for the chosen query; 0, or the exit code.
    const auto stagePages = [&](const Result<FigureSource> &source) {
        if (!source)
            return fail(kUsage, source.error);
        if (queryIndex < 0 || queryIndex >= source.value->result.tokenCount())
            return fail(kUsage, QStringLiteral("--query must be a token position between 0 and %1").arg(source.value->result.tokenCount() - 1));
        pages = {stageHandoutPages(*source.value, queryIndex, -1), {}};
        title = source.value->context.quotedSentence();
        return 0;
    };
    if (parser.isSet(checkpointOptions.model)) {
        const std::shared_ptr<Checkpoint> checkpoint = checkpointForText(parser, model, checkpointOptions, &code);
        if (!checkpoint)
            return code;
        const Result<FigureSource> source = checkpointFigureSource(checkpoint, parser.value(model.text), parser.value(checkpointOptions.textPair),
                                                                   layerIndex, headIndex);
        if (const int failed = stagePages(source))
            return failed;
    } else {
        std::optional<Workspace> loaded;
        if (parser.isSet(model.workspace) && !parser.isSet(model.text)) {
            Result<Workspace> file = loadWorkspace(parser.value(model.workspace));
            if (!file)
                return fail(kUsage, file.error);
            if (!file.value->scenes.empty())
                loaded = std::move(*file.value);
        }
        if (loaded) {
            const CheckpointOpener open = [](const QString &folder) -> Result<std::shared_ptr<const Checkpoint>> {
                Result<std::shared_ptr<Checkpoint>> checkpoint = openCheckpoint(folder);
                if (!checkpoint)
                    return Result<std::shared_ptr<const Checkpoint>>::failure(checkpoint.error);
                return {std::shared_ptr<const Checkpoint>(*checkpoint.value), {}};
            };
            pages = sceneHandoutPages(loaded->scenes, open);
            if (!pages)
                return fail(kFailure, pages.error);
            title = QFileInfo(parser.value(model.workspace)).completeBaseName();
        } else {
            const Result<Workspace> workspace = model.workspaceFrom(parser);
            if (!workspace)
                return fail(kUsage, workspace.error);
            if (const int failed = stagePages(teachingSource(*workspace.value, layerIndex, headIndex)))
                return failed;
        }
    }
    if (const Status written = writeHandout(*pages.value, out, title); !written)
        return fail(kFailure, written.error);
    return 0;
}

// The tokens a comparison aligns and the attention of every layer and head, from either model.
struct ComparedRun {
    QStringList tokens;
    SharedAttentionMaps maps;
};

int runCompare(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Compare how every head attends in two sentences: the tokens aligned (equal tokens in order) and, per layer\n"
        "and head, the mean over aligned queries of the Jensen–Shannon divergence (base 2) between the two rows,\n"
        "restricted to the aligned keys and renormalised. Writes JSON."));
    parser.addPositionalArgument(QStringLiteral("compare"), QStringLiteral("The subcommand."));
    ModelOptions model;
    model.addTo(parser);
    CheckpointOptions checkpointOptions;
    checkpointOptions.addTo(parser);
    const QCommandLineOption textB(QStringLiteral("text-b"), QStringLiteral("The second sentence."), QStringLiteral("TEXT"));
    parser.addOption(textB);
    int code = 0;
    if (!parse(parser, arguments, &code))
        return code;
    const QString first = parser.value(model.text);
    const QString second = parser.value(textB);
    if (first.trimmed().isEmpty() || second.trimmed().isEmpty())
        return fail(kUsage, QStringLiteral("give both sentences: --text A --text-b B"));

    std::vector<ComparedRun> runs;
    if (parser.isSet(checkpointOptions.model)) {
        Result<std::shared_ptr<Checkpoint>> opened = openCheckpoint(parser.value(checkpointOptions.model));
        if (!opened)
            return fail(kFailure, opened.error);
        for (const QString &text : {first, second}) {
            const Result<FigureSource> source = checkpointFigureSource(*opened.value, text, {}, 0, 0);
            if (!source)
                return fail(kUsage, source.error);
            runs.push_back({source.value->result.pieces, source.value->result.maps});
        }
    } else {
        const Result<Workspace> workspace = model.workspaceFrom(parser);
        if (!workspace)
            return fail(kUsage, workspace.error);
        for (const QString &text : {first, second}) {
            Workspace w = *workspace.value;
            w.text = text;
            const Result<FigureSource> source = teachingFigureSource(w, 0);
            if (!source)
                return fail(kUsage, source.error);
            runs.push_back({source.value->result.labels, source.value->result.maps});
        }
    }

    const TokenAlignment alignment = alignTokens(runs[0].tokens, runs[1].tokens);
    QJsonArray pairs;
    for (const auto &[a, b] : alignment)
        pairs.append(QJsonArray{a, b});
    QJsonArray layers;
    for (size_t l = 0; l < runs[0].maps->size(); ++l) {
        QJsonArray heads;
        for (size_t h = 0; h < (*runs[0].maps)[l].size(); ++h) {
            const HeadDivergence d = headDivergence((*runs[0].maps)[l][h], (*runs[1].maps)[l][h], alignment);
            heads.append(QJsonObject{{QStringLiteral("divergence"), d.divergence}, {QStringLiteral("rows"), d.rows}});
        }
        layers.append(QJsonObject{{QStringLiteral("heads"), heads}});
    }
    const QJsonObject json{
        {QStringLiteral("a"), QJsonObject{{QStringLiteral("text"), first}, {QStringLiteral("tokens"), QJsonArray::fromStringList(runs[0].tokens)}}},
        {QStringLiteral("b"), QJsonObject{{QStringLiteral("text"), second}, {QStringLiteral("tokens"), QJsonArray::fromStringList(runs[1].tokens)}}},
        {QStringLiteral("alignment"), pairs},
        {QStringLiteral("layers"), layers},
    };
    if (const Status written = writeText(parser.value(model.out), QJsonDocument(json).toJson(QJsonDocument::Compact) + '\n'); !written)
        return fail(kFailure, written.error);
    return 0;
}

} // namespace

int runTokenize(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Print a model's token ids and tokens for a text as JSON."));
    parser.addPositionalArgument(QStringLiteral("tokenize"), QStringLiteral("The subcommand."));
    const QCommandLineOption modelOption(QStringLiteral("model"), QStringLiteral("A Hugging Face model folder."), QStringLiteral("DIR"));
    const QCommandLineOption text(QStringLiteral("text"), QStringLiteral("The text."), QStringLiteral("TEXT"));
    const QCommandLineOption pair(QStringLiteral("text-pair"), QStringLiteral("BERT: the second sentence."), QStringLiteral("TEXT"));
    const QCommandLineOption target(QStringLiteral("target"), QStringLiteral("Translation models: a target text, tokenized as the decoder's."), QStringLiteral("TEXT"));
    parser.addOptions({modelOption, text, pair, target});
    int code = 0;
    if (!parse(parser, arguments, &code))
        return code;
    if (!parser.isSet(modelOption))
        return fail(kUsage, QStringLiteral("--model DIR is required"));
    const auto tokensJson = [](const Encoding &encoding, const ModelTokenizer &tokenizer) {
        QJsonArray ids, tokens, display;
        for (qsizetype i = 0; i < encoding.tokens.size(); ++i) {
            ids.append(encoding.ids[size_t(i)]);
            tokens.append(encoding.tokens.at(i));
            display.append(tokenizer.displayToken(encoding.tokens.at(i)));
        }
        return QJsonObject{{QStringLiteral("ids"), ids}, {QStringLiteral("tokens"), tokens}, {QStringLiteral("display_tokens"), display}};
    };
    if (isTranslationFolder(parser.value(modelOption))) {
        // The source as the encoder reads it, and with --target the target as the decoder's tokenizer splits it.
        if (parser.isSet(pair))
            return fail(kUsage, QStringLiteral("--text-pair is for BERT models; a translation model's target is --target"));
        Result<std::shared_ptr<TranslationCheckpoint>> opened = openTranslationCheckpoint(parser.value(modelOption));
        if (!opened)
            return fail(kFailure, opened.error);
        const TranslationTokenizer &tokenizer = *(*opened.value)->tokenizer;
        const Result<Encoding> source = tokenizer.encode(parser.value(text));
        if (!source)
            return fail(kUsage, source.error);
        QJsonObject json = tokensJson(*source.value, tokenizer);
        if (parser.isSet(target)) {
            const Result<Encoding> encoded = tokenizer.encodeTarget(parser.value(target));
            if (!encoded)
                return fail(kUsage, encoded.error);
            json.insert(QStringLiteral("target"), tokensJson(*encoded.value, tokenizer));
        }
        if (const Status written = writeText({}, QJsonDocument(json).toJson(QJsonDocument::Compact) + '\n'); !written)
            return fail(kFailure, written.error);
        return 0;
    }
    if (parser.isSet(target))
        return fail(kUsage, QStringLiteral("--target is for translation (encoder–decoder) models"));
    Result<std::shared_ptr<Checkpoint>> checkpoint = openCheckpoint(parser.value(modelOption));
    if (!checkpoint)
        return fail(kFailure, checkpoint.error);
    const ModelTokenizer &tokenizer = *(*checkpoint.value)->tokenizer;
    if (parser.isSet(pair) && !tokenizer.takesPairs())
        return fail(kUsage, QStringLiteral("this model takes one text; --text-pair is for BERT models"));
    Result<Encoding> encoding = tokenizer.encode(parser.value(text), parser.value(pair));
    if (!encoding)
        return fail(kUsage, encoding.error);
    const QJsonObject json = tokensJson(*encoding.value, tokenizer);
    if (const Status written = writeText({}, QJsonDocument(json).toJson(QJsonDocument::Compact) + '\n'); !written)
        return fail(kFailure, written.error);
    return 0;
}

bool isSubcommand(const QString &word)
{
    return word == QStringLiteral("trace") || word == QStringLiteral("export") || word == QStringLiteral("tokenize")
        || word == QStringLiteral("download") || word == QStringLiteral("handout") || word == QStringLiteral("compare") || word == QStringLiteral("--help") || word == QStringLiteral("-h") || word == QStringLiteral("--version");
}

int runSubcommand(const QStringList &arguments)
{
    const QString command = arguments.value(1);
    if (command == QStringLiteral("--version")) {
        QTextStream(stdout) << "attention-studio " << PROJECT_VERSION << '\n';
        return 0;
    }
    if (command == QStringLiteral("--help") || command == QStringLiteral("-h")) {
        QTextStream(stdout) << "Usage: attention-studio [FILE]\n"
                               "       attention-studio trace|export|handout|compare|tokenize|download [OPTIONS]   (each with --help)\n\n"
                               "Without a command, opens the window (on FILE, a workspace or a model folder, when given).\n"
                               "  trace     print every stage of attention for a sentence as JSON\n"
                               "  export    write a view (heatmap, arcs, grid, steps) as PNG, SVG or PDF\n"
                               "  handout   write a PDF handout: a page per scene or per stage, with the arithmetic\n"
                               "  compare   how differently every head attends in two sentences, as JSON\n"
                               "  tokenize  print a checkpoint's tokens for a sentence as JSON\n"
                               "  download  fetch a model from the Hugging Face Hub into its cache (e.g. download gpt2)\n";
        return 0;
    }
    if (command == QStringLiteral("trace"))
        return runTrace(arguments);
    if (command == QStringLiteral("export"))
        return runExport(arguments);
    if (command == QStringLiteral("tokenize"))
        return runTokenize(arguments);
    if (command == QStringLiteral("handout"))
        return runHandout(arguments);
    if (command == QStringLiteral("compare"))
        return runCompare(arguments);
    if (command == QStringLiteral("download"))
        return runDownload(arguments);
    return fail(kUsage, QStringLiteral("unknown command \"%1\" (commands: trace, export, handout, compare, tokenize, download)").arg(command));
}

} // namespace studio
