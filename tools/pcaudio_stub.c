/* A stand-in for libpcaudio.so.0 (espeak-ng's audio output), for machines without PulseAudio/ALSA.
 *
 * espeak-ng links libpcaudio, which links PulseAudio and ALSA and, through them, X11, D-Bus,
 * systemd and a dozen codecs: libraries a GPU image does not have. ctcot runs espeak-ng only to
 * write WAV files (-w) and phonemes (-q --ipa), which never open an audio device, so this library
 * provides the same symbols and refuses every device. tools/make_wheelhouse.sh builds it as
 * espeak-ng/lib/libpcaudio.so.0 beside the Debian packages.
 */
#include <stddef.h>

struct audio_object;

struct audio_object *create_audio_device_object(const char *device, const char *application_name,
                                                const char *description) {
    (void)device; (void)application_name; (void)description;
    return NULL;
}

int audio_object_open(struct audio_object *object, int format, unsigned rate, unsigned channels) {
    (void)object; (void)format; (void)rate; (void)channels;
    return -1;
}

void audio_object_close(struct audio_object *object) { (void)object; }

void audio_object_destroy(struct audio_object *object) { (void)object; }

int audio_object_write(struct audio_object *object, const void *data, size_t bytes) {
    (void)object; (void)data; (void)bytes;
    return -1;
}

int audio_object_drain(struct audio_object *object) { (void)object; return -1; }

int audio_object_flush(struct audio_object *object) { (void)object; return -1; }

const char *audio_object_strerror(struct audio_object *object, int error) {
    (void)object; (void)error;
    return "no audio output (ctcot's libpcaudio stand-in: espeak-ng can only write files)";
}
