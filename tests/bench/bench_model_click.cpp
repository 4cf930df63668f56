// Measures what a click in the model view allocates with a GPT-2-small-shaped checkpoint at 1,024
// tokens, the model view shown in a real window: every byte the process allocates while the click
// is handled and every visible view has caught up. The 144 attention matrices are 604 MB; a click
// that copied them would allocate at least that. A measurement, not a test.
//   bench_model_click [model folder]
#include "attentiondocument.h"
#include "benchcheckpoint.h"
#include "mainwindow.h"
#include "modelgridview.h"

#include <QApplication>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QThread>
#include <QMouseEvent>
#include <QStandardPaths>
#include <QTextStream>

#include <atomic>
#include <malloc.h>

// Every allocation of the process passes through these while counting is on. They forward to
// glibc's own allocator and record the usable size of each block.
extern "C" {
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t count, size_t size);
void *__libc_realloc(void *pointer, size_t size);
void *__libc_memalign(size_t alignment, size_t size);
void __libc_free(void *pointer);
}

namespace {

std::atomic<bool> counting{false};
std::atomic<long long> allocatedBytes{0};
std::atomic<long long> allocationCount{0};
std::atomic<long long> largestBlock{0};

void noteAllocation(void *pointer)
{
    if (!pointer || !counting.load(std::memory_order_relaxed))
        return;
    const long long size = static_cast<long long>(malloc_usable_size(pointer));
    allocatedBytes += size;
    ++allocationCount;
    long long largest = largestBlock.load();
    while (size > largest && !largestBlock.compare_exchange_weak(largest, size)) {
    }
}

} // namespace

extern "C" {
void *malloc(size_t size)
{
    void *pointer = __libc_malloc(size);
    noteAllocation(pointer);
    return pointer;
}
void *calloc(size_t count, size_t size)
{
    void *pointer = __libc_calloc(count, size);
    noteAllocation(pointer);
    return pointer;
}
void *realloc(void *old, size_t size)
{
    void *pointer = __libc_realloc(old, size);
    noteAllocation(pointer);
    return pointer;
}
void *memalign(size_t alignment, size_t size)
{
    void *pointer = __libc_memalign(alignment, size);
    noteAllocation(pointer);
    return pointer;
}
void *aligned_alloc(size_t alignment, size_t size)
{
    return memalign(alignment, size);
}
int posix_memalign(void **out, size_t alignment, size_t size)
{
    *out = memalign(alignment, size);
    return *out ? 0 : 12; // ENOMEM
}
void free(void *pointer)
{
    __libc_free(pointer);
}
}

using namespace studio;

namespace {

template<typename Condition>
bool waitFor(Condition done)
{
    QElapsedTimer waited;
    waited.start();
    while (!done()) {
        if (waited.elapsed() > 300000)
            return false;
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
        QThread::msleep(2);
    }
    return true;
}

} // namespace

int main(int argc, char *argv[])
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QStandardPaths::setTestModeEnabled(true);
    QTextStream out(stdout);
    const Result<QString> folder = bench::gpt2SmallFolder(argc, argv);
    if (!folder) {
        out << folder.error << Qt::endl;
        return 1;
    }
    MainWindow window;
    window.resize(1600, 1000);
    window.show();
    if (auto *dock = window.findChild<QDockWidget *>(QStringLiteral("gridDock")))
        dock->raise();
    AttentionDocument *document = window.document();
    document->openModel(*folder.value);
    if (!waitFor([&] { return !document->isTeaching() && !document->isBusy(); }))
        return 1;
    QStringList words;
    for (int i = 0; i < 1023; ++i)
        words.append(QStringLiteral(" token"));
    document->editText(QStringLiteral("token") + words.join(QString()));
    QCoreApplication::processEvents();
    if (!waitFor([&] { return !document->isBusy() && document->tokenCount() == 1024; }))
        return 1;
    for (int i = 0; i < 20; ++i) // let every view settle (deferred rebuilds, paints)
        QCoreApplication::processEvents();

    ModelGridView *grid = window.grid();
    const double matrixMegabytes = double(document->result().layers) * document->result().heads * 1024.0 * 1024.0 * 4 / 1e6;
    out << QStringLiteral("model view visible: %1; attention matrices held: %2 MB\n").arg(grid->isVisible()).arg(matrixMegabytes, 0, 'f', 0);
    for (const auto &[layer, column] : {std::pair{3, 5}, std::pair{7, 2}, std::pair{11, 11}}) {
        const QPointF centre = grid->currentLayout().cell(layer, column).center();
        allocatedBytes = 0;
        allocationCount = 0;
        largestBlock = 0;
        counting = true;
        QMouseEvent press(QEvent::MouseButtonPress, centre, grid->mapToGlobal(centre), Qt::LeftButton, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(grid, &press);
        for (int i = 0; i < 20; ++i)
            QCoreApplication::processEvents();
        window.grab(); // paint every visible view once
        counting = false;
        out << QStringLiteral("click on layer %1 head %2 (selected %3/%4): %5 MB allocated in %6 blocks, the largest %7 MB\n")
                   .arg(layer).arg(column).arg(document->selectedLayer()).arg(document->selectedHead())
                   .arg(double(allocatedBytes) / 1e6, 0, 'f', 1).arg(allocationCount.load())
                   .arg(double(largestBlock) / 1e6, 0, 'f', 2);
    }
    return 0;
}
