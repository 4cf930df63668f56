// Peak memory of the two largest `trace` runs, each in its own process (wait4's maximum resident
// set): a GPT-2-small-shaped checkpoint at its 1,024 positions, with and without every stage, and
// the teaching model at its largest (1,024 tokens, 16 heads, d_model 256) with --stages. The JSON
// goes to /dev/null. Beside each figure, the run's memory by the formula in core/runmemory.h
// (weights not included). A measurement, not a test.
//   bench_trace_memory [attention-studio executable] [checkpoint folder]
#include "benchcheckpoint.h"
#include "checkpoint.h"
#include "runmemory.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QTextStream>

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <vector>

extern char **environ;

using namespace studio;

namespace {

QTextStream out(stdout);

struct Measured {
    bool ok = false;
    double peakMegabytes = 0;
    double seconds = 0;
};

// Runs the command with its standard output on /dev/null and returns its own peak memory.
Measured runMeasured(const QStringList &command)
{
    std::vector<QByteArray> storage;
    for (const QString &part : command)
        storage.push_back(part.toLocal8Bit());
    std::vector<char *> argv;
    for (QByteArray &part : storage)
        argv.push_back(part.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    QElapsedTimer timer;
    timer.start();
    pid_t pid = 0;
    Measured measured;
    if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0) {
        int status = 0;
        rusage usage{};
        if (wait4(pid, &status, 0, &usage) == pid) {
            measured.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            measured.peakMegabytes = double(usage.ru_maxrss) / 1024.0; // kilobytes on Linux
        }
    }
    measured.seconds = double(timer.elapsed()) / 1000.0;
    posix_spawn_file_actions_destroy(&actions);
    return measured;
}

void report(const QString &name, const Measured &m, double formulaBytes)
{
    out << qSetFieldWidth(64) << Qt::left << name << qSetFieldWidth(0)
        << (m.ok ? QStringLiteral("peak %1 MB  (%2 s)").arg(m.peakMegabytes, 0, 'f', 0).arg(m.seconds, 0, 'f', 1)
                 : QStringLiteral("failed (%1 MB)").arg(m.peakMegabytes, 0, 'f', 0))
        << QStringLiteral("   formula %1").arg(memoryText(formulaBytes)) << Qt::endl;
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    const QString executable = argc > 1 ? QString::fromLocal8Bit(argv[1])
                                        : QCoreApplication::applicationDirPath() + QStringLiteral("/../../app/attention-studio");
    const Result<QString> folder = bench::gpt2SmallFolder(argc - 1, argv + 1);
    if (!folder) {
        out << folder.error << Qt::endl;
        return 1;
    }
    const QString text = QStringLiteral("The quick brown fox jumps over the lazy dog. ").repeated(120); // > 1,024 tokens
    out << "executable: " << executable << Qt::endl;
    // Measured before this process maps the checkpoint: a spawned child starts with its parent's
    // peak as its own.
    const Measured plain = runMeasured({executable, QStringLiteral("trace"), QStringLiteral("--model"), *folder.value,
                                        QStringLiteral("--text"), text});
    const Measured stages = runMeasured({executable, QStringLiteral("trace"), QStringLiteral("--model"), *folder.value,
                                         QStringLiteral("--text"), text, QStringLiteral("--stages")});
    const Measured teaching = runMeasured({executable, QStringLiteral("trace"), QStringLiteral("--text"), text, QStringLiteral("--d-model"),
                                           QStringLiteral("256"), QStringLiteral("--d-head"), QStringLiteral("16"), QStringLiteral("--heads"),
                                           QStringLiteral("16"), QStringLiteral("--stages")});
    const auto checkpoint = openCheckpoint(*folder.value);
    if (!checkpoint) {
        out << checkpoint.error << Qt::endl;
        return 1;
    }
    const ModelConfig &config = (*checkpoint.value)->config;
    out << "(peaks include the checkpoint's 498 MB of weights, mapped and read; formulas do not)" << Qt::endl;
    report(QStringLiteral("GPT-2-small shape, 1,024 tokens"), plain, checkpointRunBytes(config, 1024, RunKind::Trace));
    report(QStringLiteral("GPT-2-small shape, 1,024 tokens, --stages"), stages, checkpointRunBytes(config, 1024, RunKind::Trace, config.heads));
    report(QStringLiteral("teaching model, 16 heads, d_model 256, 1,024 tokens, --stages"), teaching,
           teachingRunBytes(TeachingConfig{256, 16, 16, true}, 1024, RunKind::Trace));
    return 0;
}
