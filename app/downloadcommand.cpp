#include "downloadcommand.h"

#include "hubdownload.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QSocketNotifier>
#include <QTextStream>

#include <csignal>
#include <cstdio>
#include <unistd.h>

namespace studio {

namespace {

constexpr int kFailure = 1;
constexpr int kUsage = 2;
constexpr int kBarWidth = 30;

int failWith(int code, const QString &message)
{
    QTextStream(stderr) << "attention-studio: error: " << message << '\n';
    return code;
}

// Ctrl+C ends the download cleanly (what was fetched is kept for the next run): the handler
// only writes a byte, which the event loop reads.
int g_interruptPipe[2] = {-1, -1};
void onInterrupt(int)
{
    const char byte = 1;
    [[maybe_unused]] const ssize_t written = ::write(g_interruptPipe[1], &byte, 1);
}

QString progressLine(qint64 done, qint64 total, const QString &text)
{
    const int filled = total > 0 ? int(double(done) / double(total) * kBarWidth) : 0;
    const int percent = total > 0 ? int(double(done) * 100.0 / double(total)) : 0;
    return QStringLiteral("\r[%1%2] %3% %4\x1b[K")
        .arg(QString(filled, QLatin1Char('#')), QString(kBarWidth - filled, QLatin1Char(' ')))
        .arg(percent, 3)
        .arg(text);
}

} // namespace

int runDownload(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Download a model from the Hugging Face Hub into its cache (shared with Python's huggingface_hub), "
        "then print the snapshot folder. Only what the app reads is fetched: config, tokenizer files and "
        "safetensors weights, each checked against the Hub's SHA-256. An interrupted download resumes.\n"
        "Honours HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE, and HF_TOKEN or the token file."));
    parser.addPositionalArgument(QStringLiteral("download"), QStringLiteral("The subcommand."));
    parser.addPositionalArgument(QStringLiteral("ID"), QStringLiteral("The model id, e.g. gpt2 or HuggingFaceTB/SmolLM2-135M."));
    const QCommandLineOption revision(QStringLiteral("revision"), QStringLiteral("A branch, tag or commit (default main)."),
                                      QStringLiteral("R"), QStringLiteral("main"));
    parser.addOption(revision);
    parser.addHelpOption();
    if (!parser.parse(arguments))
        return failWith(kUsage, parser.errorText());
    if (parser.isSet(QStringLiteral("help"))) {
        QTextStream(stdout) << parser.helpText();
        return 0;
    }
    const QStringList positional = parser.positionalArguments();
    if (positional.size() < 2)
        return failWith(kUsage, QStringLiteral("which model? e.g. attention-studio download gpt2"));
    if (positional.size() > 2)
        return failWith(kUsage, QStringLiteral("unexpected argument \"%1\"").arg(positional.at(2)));

    HubDownload download(HubSettings::fromEnvironment());
    QEventLoop loop;
    QString snapshot;
    QString error;
    const bool terminal = ::isatty(STDERR_FILENO) != 0;
    QElapsedTimer clock;
    clock.start();
    qint64 lastDrawn = -1000;
    qint64 firstDone = -1;
    bool drawn = false;
    QObject::connect(&download, &HubDownload::progress, &loop, [&](qint64 done, qint64 total, const QString &file) {
        if (firstDone < 0)
            firstDone = done; // what was already here does not count towards the rate
        if (!terminal || (clock.elapsed() - lastDrawn < 100 && done < total))
            return;
        lastDrawn = clock.elapsed();
        const QString text = transferText(done, total, done - firstDone, clock.elapsed()) + (file.isEmpty() ? QString() : QStringLiteral(" · ") + file);
        QTextStream(stderr) << progressLine(done, total, text);
        drawn = true;
    });
    QObject::connect(&download, &HubDownload::finished, &loop, [&](const QString &folder, const QString &message) {
        snapshot = folder;
        error = message;
        loop.quit();
    });

    std::unique_ptr<QSocketNotifier> interrupt;
    if (::pipe(g_interruptPipe) == 0) {
        interrupt = std::make_unique<QSocketNotifier>(g_interruptPipe[0], QSocketNotifier::Read);
        QObject::connect(interrupt.get(), &QSocketNotifier::activated, &loop, [&] {
            char byte;
            [[maybe_unused]] const ssize_t read = ::read(g_interruptPipe[0], &byte, 1);
            download.cancel();
        });
        std::signal(SIGINT, onInterrupt);
        std::signal(SIGTERM, onInterrupt);
    }
    download.start(positional.at(1), parser.value(revision));
    loop.exec();
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    if (drawn)
        QTextStream(stderr) << '\n';
    if (!error.isEmpty())
        return failWith(kFailure, error);
    QTextStream(stdout) << snapshot << '\n';
    return 0;
}

} // namespace studio
