#include "runmemory.h"

#include <QFile>
#include <QLocale>

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace studio {

namespace {

constexpr double kCell = 4.0; // bytes of a float

// The activations every layer reuses: hidden, normed, context, projected (C each), fused q|k|v (3C)
// and the MLP's inner width.
double workingCells(double tokens, double hidden, double intermediate)
{
    return tokens * (7.0 * hidden + intermediate);
}

// One head's kept stages: scores, scaled, masked, weights (T² each) and q, k, v, output (T·d each).
double stageCells(double tokens, double headDim)
{
    return 4.0 * tokens * tokens + 4.0 * tokens * headDim;
}

// A field of /proc/meminfo in bytes, or -1.
double meminfoBytes(const QByteArray &meminfo, const QByteArray &field)
{
    for (const QByteArray &line : meminfo.split('\n')) {
        if (!line.startsWith(field + ':'))
            continue;
        const QList<QByteArray> parts = line.mid(field.size() + 1).simplified().split(' ');
        bool ok = false;
        const double kilobytes = parts.value(0).toDouble(&ok);
        return ok ? kilobytes * 1024.0 : -1.0;
    }
    return -1.0;
}

// What a resource limit leaves above what the process already uses, or +∞ without a limit.
double limitHeadroom(int resource, double used)
{
    rlimit limit{};
    if (getrlimit(resource, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
        return std::numeric_limits<double>::infinity();
    return std::max(0.0, double(limit.rlim_cur) - used);
}

} // namespace

double checkpointRunBytes(const ModelConfig &config, int tokens, RunKind kind, int stageHeadsPerLayer)
{
    const double t = tokens, l = config.layers, h = config.heads, c = config.hidden, d = config.headDim();
    // A gated MLP holds its gate beside its inner activations.
    double cells = workingCells(t, c, config.intermediate * (config.traits().gatedMlp ? 2.0 : 1.0));
    switch (kind) {
    case RunKind::Window:
        // Every layer's maps, one head's stages, and each layer's attention input and residual stream.
        cells += l * h * t * t + stageCells(t, d) + 2 * l * t * c;
        break;
    case RunKind::Trace:
        cells += h * t * t + stageHeadsPerLayer * stageCells(t, d) + t * c;
        break;
    }
    return kCell * cells;
}

double teachingRunBytes(const TeachingConfig &config, int tokens, RunKind kind)
{
    const double t = tokens;
    const double copies = kind == RunKind::Window ? config.heads * t * t : 0.0;
    return kCell * (config.heads * stageCells(t, config.dHead) + t * config.dModel + copies);
}

double translationRunBytes(const TranslationConfig &config, int sourceTokens, int targetTokens)
{
    const double s = sourceTokens, t = targetTokens, c = config.hidden;
    const double maps = double(config.encoderLayers) * config.encoderHeads * s * s + double(config.decoderLayers) * config.decoderHeads * (t * t + t * s);
    const double inputs = (double(config.encoderLayers) * s + 2.0 * config.decoderLayers * t + s) * c;
    return kCell * (maps + inputs + workingCells(s + t, c, std::max(config.encoderFfn, config.decoderFfn)));
}

double availableMemoryBytes()
{
    QFile file(QStringLiteral("/proc/meminfo"));
    double available = 0.0;
    // /proc files report a size of 0: read to the end, bounded.
    if (file.open(QIODevice::ReadOnly)) {
        const QByteArray meminfo = file.read(64 * 1024);
        const double memory = meminfoBytes(meminfo, "MemAvailable");
        const double swap = meminfoBytes(meminfo, "SwapFree");
        if (memory >= 0)
            available = memory + std::max(0.0, swap);
    }
    double virtualSize = 0.0, dataSize = 0.0;
    QFile status(QStringLiteral("/proc/self/status"));
    if (status.open(QIODevice::ReadOnly)) {
        const QByteArray text = status.read(64 * 1024);
        virtualSize = std::max(0.0, meminfoBytes(text, "VmSize"));
        dataSize = std::max(0.0, meminfoBytes(text, "VmData"));
    }
    const double limited = std::min(limitHeadroom(RLIMIT_AS, virtualSize), limitHeadroom(RLIMIT_DATA, dataSize));
    if (available <= 0.0)
        return std::isfinite(limited) ? limited : 0.0;
    return std::min(available, limited);
}

Status checkRunFits(double neededBytes, double availableBytes)
{
    if (availableBytes <= 0.0 || neededBytes <= availableBytes)
        return Status::success();
    return Status::failure(QStringLiteral("not enough memory for this run: it needs about %1 and %2 is available. "
                                          "A shorter text needs less; the attention maps grow with the square of its length.")
                               .arg(memoryText(neededBytes), memoryText(availableBytes)));
}

Status checkRunFitsNow(double neededBytes)
{
    if (neededBytes < kSmallRunBytes)
        return Status::success();
    return checkRunFits(neededBytes, availableMemoryBytes());
}

QString memoryText(double bytes)
{
    // Beyond what a 64-bit count holds (sizes read from a hostile config), plain scientific notation.
    if (bytes >= 1e18)
        return QStringLiteral("%1 bytes").arg(bytes, 0, 'g', 2);
    return QLocale::c().formattedDataSize(qint64(std::max(bytes, 0.0)), 1, QLocale::DataSizeSIFormat);
}

} // namespace studio
