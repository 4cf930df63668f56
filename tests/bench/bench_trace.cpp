// Measures the full teaching-model trace (tokenize, embed, every head's stages) for growing
// sentences. A measurement, not a test: it prints figures and always exits 0.
#include "teachingmodel.h"

#include <QElapsedTimer>
#include <QTextStream>

#include <algorithm>
#include <vector>

using namespace studio;

namespace {

QString sentenceOf(int tokens)
{
    static const QStringList words = {QStringLiteral("the"), QStringLiteral("cat"), QStringLiteral("sat"),
                                      QStringLiteral("on"), QStringLiteral("a"), QStringLiteral("warm"),
                                      QStringLiteral("mat"), QStringLiteral("because")};
    QStringList out;
    for (int i = 0; i < tokens; ++i)
        out.append(words.at(i % words.size()) + (i % 5 == 4 ? QStringLiteral("s") : QString()));
    return out.join(QLatin1Char(' '));
}

} // namespace

int main()
{
    QTextStream out(stdout);
    out << "teaching-model trace: median and 95th percentile (ms)\n";
    out << "config            T    median     p95    runs\n";
    for (const TeachingConfig &config : {TeachingConfig{8, 4, 3, true}, TeachingConfig{64, 8, 8, true}}) {
        const std::vector<HeadWeights> heads = defaultHeads(config);
        for (int tokens : {8, 32, 128, 512}) {
            const QString sentence = sentenceOf(tokens);
            const int runs = tokens >= 512 ? 30 : 200;
            std::vector<double> times;
            for (int i = 0; i < runs; ++i) {
                QElapsedTimer timer;
                timer.start();
                const TeachingTrace trace = traceTeachingModel(sentence, config, heads, AttentionSettings{});
                times.push_back(double(timer.nsecsElapsed()) / 1e6);
                if (trace.tokens.size() != tokens)
                    return 1;
            }
            std::sort(times.begin(), times.end());
            out << QStringLiteral("C=%1 H=%2 D=%3").arg(config.dModel, 2).arg(config.heads).arg(config.dHead).leftJustified(14)
                << QStringLiteral("%1  %2  %3  %4\n").arg(tokens, 5).arg(times[times.size() / 2], 8, 'f', 3)
                       .arg(times[size_t(double(times.size()) * 0.95)], 7, 'f', 3).arg(runs, 6);
        }
    }
    return 0;
}
